//! Translation of sqlparser's CREATE TABLE / column definitions into
//! [`TableDef`]s.

use crate::error::{Error, ErrorKind, Result};
use crate::types::{Column, ColumnDefault, Datum, SqlType, StoreAt, TableDef, UniqueKey, store};
use replog_core::Value;
use sqlparser::ast::{
    CharacterLength, ColumnDef, ColumnOption, DataType, ExactNumberInfo, Expr, TableConstraint,
    TimezoneInfo,
};

fn char_len(l: &Option<CharacterLength>, default: u32) -> Result<u32> {
    match l {
        None => Ok(default),
        Some(CharacterLength::IntegerLength { length, .. }) => u32::try_from(*length)
            .map_err(|_| Error::new(ErrorKind::BadDefinition, "column length too large")),
        Some(CharacterLength::Max) => Err(Error::unsupported("length MAX")),
    }
}

fn decimal_info(info: &ExactNumberInfo, unsigned: bool) -> Result<SqlType> {
    let (p, s) = match info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, u64::try_from(*s).unwrap_or(u64::MAX)),
    };
    if p == 0 || p > 65 || s > 30 || s > p {
        return Err(Error::new(
            ErrorKind::BadDefinition,
            format!("DECIMAL({p},{s}) out of range"),
        ));
    }
    Ok(SqlType::Decimal {
        precision: p as u8,
        scale: s as u8,
        unsigned,
    })
}

fn fsp(f: &Option<u64>) -> Result<u8> {
    match f {
        None => Ok(0),
        Some(n) if *n <= 6 => Ok(*n as u8),
        Some(n) => Err(Error::new(
            ErrorKind::BadDefinition,
            format!("too big precision {n}; maximum is 6"),
        )),
    }
}

fn int(bytes: u8, unsigned: bool) -> SqlType {
    SqlType::Int {
        bytes,
        unsigned,
        boolean: false,
    }
}

/// The store type of a parsed data type.
pub fn sql_type(dt: &DataType) -> Result<SqlType> {
    Ok(match dt {
        DataType::TinyInt(_) => int(1, false),
        DataType::TinyIntUnsigned(_) => int(1, true),
        DataType::SmallInt(_) => int(2, false),
        DataType::SmallIntUnsigned(_) => int(2, true),
        DataType::MediumInt(_) => int(3, false),
        DataType::MediumIntUnsigned(_) => int(3, true),
        DataType::Int(_) | DataType::Integer(_) => int(4, false),
        DataType::IntUnsigned(_) | DataType::IntegerUnsigned(_) => int(4, true),
        DataType::BigInt(_) => int(8, false),
        DataType::BigIntUnsigned(_) => int(8, true),
        DataType::Bool | DataType::Boolean => SqlType::Int {
            bytes: 1,
            unsigned: false,
            boolean: true,
        },
        DataType::Decimal(i) | DataType::Numeric(i) | DataType::Dec(i) => decimal_info(i, false)?,
        DataType::DecimalUnsigned(i) | DataType::DecUnsigned(i) => decimal_info(i, true)?,
        DataType::Float(_) => SqlType::Float,
        DataType::Double(_) | DataType::DoublePrecision | DataType::Real => SqlType::Double,
        DataType::Char(l) | DataType::Character(l) => SqlType::Char(char_len(l, 1)?),
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::CharVarying(l) => {
            match l {
                None => {
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        "VARCHAR needs a length",
                    ));
                }
                Some(_) => SqlType::VarChar(char_len(l, 0)?),
            }
        }
        DataType::TinyText => SqlType::Text(255),
        DataType::Text => SqlType::Text(65_535),
        DataType::MediumText => SqlType::Text(16_777_215),
        DataType::LongText => SqlType::Text(4_294_967_295),
        DataType::Binary(l) => SqlType::Binary(l.map_or(Ok(1), |n| {
            u32::try_from(n).map_err(|_| Error::new(ErrorKind::BadDefinition, "BINARY too long"))
        })?),
        DataType::Varbinary(l) => match l {
            Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => SqlType::VarBinary(
                u32::try_from(*length)
                    .map_err(|_| Error::new(ErrorKind::BadDefinition, "VARBINARY too long"))?,
            ),
            _ => {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    "VARBINARY needs a length",
                ));
            }
        },
        DataType::TinyBlob => SqlType::Blob(255),
        DataType::Blob(_) => SqlType::Blob(65_535),
        DataType::MediumBlob => SqlType::Blob(16_777_215),
        DataType::LongBlob => SqlType::Blob(4_294_967_295),
        DataType::Date => SqlType::Date,
        DataType::Time(f, TimezoneInfo::None) => SqlType::Time(fsp(f)?),
        DataType::Datetime(f) => SqlType::DateTime(fsp(f)?),
        DataType::Timestamp(f, TimezoneInfo::None) => SqlType::Timestamp(fsp(f)?),
        DataType::Enum(members, _) => {
            let mut labels = Vec::new();
            for m in members {
                match m {
                    sqlparser::ast::EnumMember::Name(n) => labels.push(n.clone()),
                    sqlparser::ast::EnumMember::NamedValue(n, _) => labels.push(n.clone()),
                }
            }
            if labels.is_empty() {
                return Err(Error::new(ErrorKind::BadDefinition, "ENUM without labels"));
            }
            SqlType::Enum(labels)
        }
        DataType::Set(labels) => {
            if labels.is_empty() || labels.len() > 64 {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    "SET needs 1 to 64 members",
                ));
            }
            SqlType::Set(labels.clone())
        }
        DataType::Bit(n) => {
            let n = n.unwrap_or(1);
            if n == 0 || n > 64 {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    format!("BIT({n}) out of range"),
                ));
            }
            SqlType::Bit(n as u8)
        }
        DataType::JSON => SqlType::Json,
        DataType::Custom(name, args)
            if args.is_empty() && name.to_string().eq_ignore_ascii_case("YEAR") =>
        {
            SqlType::Year
        }
        other => return Err(Error::unsupported(format!("column type {other}"))),
    })
}

/// Builds a column from its definition. Returns the column and whether it
/// declared PRIMARY KEY / UNIQUE inline.
pub fn column(
    def: &ColumnDef,
    eval_default: &mut dyn FnMut(&Expr) -> Result<Datum>,
) -> Result<(Column, bool, bool)> {
    let ty = sql_type(&def.data_type)?;
    let mut nullable = true;
    let mut default_expr: Option<&Expr> = None;
    let mut auto_increment = false;
    let (mut pk, mut unique) = (false, false);
    for o in &def.options {
        match &o.option {
            ColumnOption::Null => nullable = true,
            ColumnOption::NotNull => nullable = false,
            ColumnOption::Default(e) => default_expr = Some(e),
            ColumnOption::PrimaryKey(_) => pk = true,
            ColumnOption::Unique(_) => unique = true,
            ColumnOption::CharacterSet(_)
            | ColumnOption::Collation(_)
            | ColumnOption::Comment(_) => {}
            ColumnOption::DialectSpecific(tokens)
                if tokens.len() == 1
                    && tokens[0].to_string().eq_ignore_ascii_case("AUTO_INCREMENT") =>
            {
                auto_increment = true;
            }
            other => return Err(Error::unsupported(format!("column option {other}"))),
        }
    }
    if pk {
        nullable = false;
    }
    if auto_increment && !matches!(ty, SqlType::Int { .. }) {
        return Err(Error::new(
            ErrorKind::BadDefinition,
            format!("Incorrect column specifier for column '{}'", def.name.value),
        ));
    }
    let mut col = Column {
        name: def.name.value.clone(),
        ty,
        nullable,
        default: ColumnDefault::Missing,
        auto_increment,
    };
    col.default = match default_expr {
        None if nullable => ColumnDefault::Value(Value::Null),
        None => ColumnDefault::Missing,
        Some(e) if is_current_timestamp(e) => {
            if !matches!(col.ty, SqlType::DateTime(_) | SqlType::Timestamp(_)) {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    format!("Invalid default value for '{}'", col.name),
                ));
            }
            ColumnDefault::CurrentTimestamp
        }
        Some(e) => {
            let d = eval_default(e)?;
            if d.is_null() && !nullable {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    format!("Invalid default value for '{}'", col.name),
                ));
            }
            let v = store(
                &d,
                &StoreAt {
                    column: &col,
                    row: 0,
                },
            )
            .map_err(|_| {
                Error::new(
                    ErrorKind::BadDefinition,
                    format!("Invalid default value for '{}'", col.name),
                )
            })?;
            ColumnDefault::Value(v)
        }
    };
    Ok((col, pk, unique))
}

fn is_current_timestamp(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_uppercase();
            matches!(
                n.as_str(),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" | "LOCALTIME"
            )
        }
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case("CURRENT_TIMESTAMP"),
        _ => false,
    }
}

fn index_columns(cols: &[sqlparser::ast::IndexColumn], columns: &[Column]) -> Result<Vec<usize>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => columns
                .iter()
                .position(|col| col.name.eq_ignore_ascii_case(&i.value))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::UnknownColumn,
                        format!("Key column '{}' doesn't exist in table", i.value),
                    )
                }),
            other => Err(Error::unsupported(format!("key part {other}"))),
        })
        .collect()
}

/// Builds a table definition.
pub fn table_def(
    database: &str,
    name: &str,
    columns: &[ColumnDef],
    constraints: &[TableConstraint],
    eval_default: &mut dyn FnMut(&Expr) -> Result<Datum>,
) -> Result<TableDef> {
    let mut cols = Vec::new();
    let mut primary_key: Vec<usize> = Vec::new();
    let mut unique_keys = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let (col, pk, unique) = column(c, eval_default)?;
        if cols
            .iter()
            .any(|x: &Column| x.name.eq_ignore_ascii_case(&col.name))
        {
            return Err(Error::new(
                ErrorKind::BadDefinition,
                format!("Duplicate column name '{}'", col.name),
            ));
        }
        if pk {
            if !primary_key.is_empty() {
                return Err(Error::new(
                    ErrorKind::BadDefinition,
                    "Multiple primary key defined",
                ));
            }
            primary_key.push(i);
        }
        if unique {
            unique_keys.push(UniqueKey {
                name: col.name.clone(),
                columns: vec![i],
            });
        }
        cols.push(col);
    }
    for c in constraints {
        match c {
            TableConstraint::PrimaryKey(p) => {
                if !primary_key.is_empty() {
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        "Multiple primary key defined",
                    ));
                }
                primary_key = index_columns(&p.columns, &cols)?;
                for &i in &primary_key {
                    cols[i].nullable = false;
                    if cols[i].default == ColumnDefault::Value(Value::Null) {
                        cols[i].default = ColumnDefault::Missing;
                    }
                }
            }
            TableConstraint::Unique(u) => {
                let columns = index_columns(&u.columns, &cols)?;
                let name = u
                    .index_name
                    .as_ref()
                    .or(u.name.as_ref())
                    .map(|i| i.value.clone())
                    .unwrap_or_else(|| cols[columns[0]].name.clone());
                unique_keys.push(UniqueKey { name, columns });
            }
            other => return Err(Error::unsupported(format!("table constraint {other}"))),
        }
    }
    if primary_key.is_empty() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("unsupported: table '{name}' without a PRIMARY KEY"),
        ));
    }
    if cols.iter().filter(|c| c.auto_increment).count() > 1 {
        return Err(Error::new(
            ErrorKind::BadDefinition,
            "Incorrect table definition; there can be only one auto column",
        ));
    }
    Ok(TableDef {
        database: database.to_string(),
        name: name.to_string(),
        columns: cols,
        primary_key,
        unique_keys,
        version: 1,
    })
}
