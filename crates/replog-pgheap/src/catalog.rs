//! The catalog file: the output of `fixtures/postgres/catalog.sql` (one
//! line per attribute of every user table, its TOAST table and a few system
//! catalogs), and the lookups heap decoding needs: relation file → table,
//! relation OID → table, attribute layout.
//!
//! The file is tab-separated with a header line; columns are found by their
//! header name, so the order does not matter. Names, labels and missing
//! values are JSON; an empty field is SQL NULL. A trailing psql footer
//! (`(N rows)`) is ignored. `formats/pgheap.md` describes every column.

use std::collections::HashMap;
use std::path::Path;

/// How a user produces the catalog file (printed when it is missing).
pub const HOW_TO_PRODUCE: &str = "psql -X -A -F \"$(printf '\\t')\" -P footer=off -d DBNAME \
     -f fixtures/postgres/catalog.sql > catalog.tsv";

/// One attribute (`pg_attribute` row) with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// `attnum` (1-based).
    pub num: i16,
    /// `attname`.
    pub name: String,
    /// `atttypid` (0 for a dropped column).
    pub typid: u32,
    /// `atttypmod` (-1 when none).
    pub typmod: i32,
    /// `attlen`: > 0 fixed, -1 varlena, -2 C string.
    pub len: i16,
    /// `attalign` in bytes: 1, 2, 4 or 8.
    pub align: u8,
    /// `attbyval`.
    pub byval: bool,
    /// `attstorage` (`p`, `e`, `m`, `x`).
    pub storage: u8,
    /// `attisdropped`.
    pub dropped: bool,
    /// `attnotnull`.
    pub notnull: bool,
    /// `atthasmissing`: rows written before the column was added read
    /// `missing`.
    pub has_missing: bool,
    /// `attmissingval` as PostgreSQL prints the one-element array (`{5}`).
    pub missing: Option<String>,
    /// `typname`.
    pub typname: String,
    /// The type's schema (`typnspname`; `None` in a catalog file without
    /// that column, written before it was added: the schema is then taken
    /// to be `public`).
    pub typnamespace: Option<String>,
    /// The name the RELATION gives the type when it is outside the
    /// built-in mapping (see `types::type_name`); `None` for a built-in
    /// type.
    pub named_type: Option<String>,
    /// `typtype` (`b` base, `e` enum, `d` domain, `c` composite, ...).
    pub typtype: u8,
    /// `typbasetype` of a domain.
    pub basetype: Option<u32>,
    /// `typelem` (the element type of an array type).
    pub elem: Option<u32>,
    /// Enum labels by `pg_enum` OID, in sort order (for an enum or an array
    /// of one).
    pub enum_labels: Vec<(u32, String)>,
}

impl Attr {
    /// The enum label of `oid`.
    pub fn enum_label(&self, oid: u32) -> Option<&str> {
        self.enum_labels
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, l)| l.as_str())
    }
}

/// One relation with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelInfo {
    /// Tablespace OID of the relation file.
    pub spc: u32,
    /// Database OID of the relation file (0 for shared catalogs).
    pub db: u32,
    /// Relation file number.
    pub relfilenode: u32,
    /// Relation OID.
    pub oid: u32,
    /// Namespace (schema) name.
    pub namespace: String,
    /// Relation name.
    pub name: String,
    /// `relkind` (`r` table, `m` materialized view, `t` TOAST table).
    pub relkind: u8,
    /// `relreplident` (`d` default, `f` full, `i` index, `n` nothing).
    pub replident: u8,
    /// Relation file number of the TOAST table.
    pub toast_relfilenode: Option<u32>,
    /// OID of the TOAST table.
    pub toast_oid: Option<u32>,
    /// Primary key attribute numbers.
    pub pkey: Vec<i16>,
    /// Replica identity attribute numbers (what pgoutput flags as key).
    pub ident: Vec<i16>,
    /// Attributes by `attnum` order (attnum 1 first), dropped ones included.
    pub attrs: Vec<Attr>,
}

impl RelInfo {
    /// `namespace.name`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }

    /// A system catalog (namespace `pg_catalog`).
    pub fn is_system(&self) -> bool {
        self.namespace == "pg_catalog"
    }

    /// The relation's file locator.
    pub fn locator(&self) -> replog_pgwal::RelFileLocator {
        replog_pgwal::RelFileLocator {
            spc: self.spc,
            db: self.db,
            rel: self.relfilenode,
        }
    }
}

/// The catalog: relations by file and by OID.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// `server_version_num` of the server the file came from.
    pub server_version_num: u32,
    /// Every relation.
    pub relations: Vec<RelInfo>,
    by_file: HashMap<(u32, u32, u32), usize>,
    by_oid: HashMap<u32, usize>,
}

/// A catalog file that cannot be read: the line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    /// The file (or `-`).
    pub file: String,
    /// Line number, 0 when the error is not about one line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for CatalogError {}

const COLUMNS: &[&str] = &[
    "server_version_num",
    "spcoid",
    "dboid",
    "relfilenode",
    "reloid",
    "nspname",
    "relname",
    "relkind",
    "relreplident",
    "toast_relfilenode",
    "toast_reloid",
    "pkey_attnums",
    "ident_attnums",
    "attnum",
    "attname",
    "atttypid",
    "atttypmod",
    "attlen",
    "attalign",
    "attbyval",
    "attstorage",
    "attisdropped",
    "attnotnull",
    "atthasmissing",
    "attmissingval",
    "typname",
    "typtype",
    "typbasetype",
    "typelem",
    "enum_labels",
];

impl Catalog {
    /// Reads a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| CatalogError {
            file: file.clone(),
            line: 0,
            message: format!(
                "cannot read the catalog file: {e}; produce it on the server that wrote \
                 the WAL with: {HOW_TO_PRODUCE}"
            ),
        })?;
        Catalog::parse(&file, &text)
    }

    /// Parses the text of a catalog file named `file` (for messages).
    pub fn parse(file: &str, text: &[u8]) -> Result<Catalog, CatalogError> {
        let err = |line: usize, message: String| CatalogError {
            file: file.to_string(),
            line,
            message,
        };
        let text = std::str::from_utf8(text).map_err(|e| {
            let line = text[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            err(line, "not UTF-8".into())
        })?;
        let mut lines = text.lines().enumerate();
        let (_, header) = lines
            .next()
            .ok_or_else(|| err(0, "empty: no header line".into()))?;
        // psql -F '\t' (without a shell's help) separates with a backslash
        // and a `t`: accepted, since no name can break it (names are JSON).
        let sep = if !header.contains('\t') && header.contains("\\t") {
            "\\t"
        } else {
            "\t"
        };
        let names: Vec<&str> = header.split(sep).collect();
        let mut idx = [0usize; COLUMNS.len()];
        for (i, c) in COLUMNS.iter().enumerate() {
            idx[i] = names.iter().position(|n| n == c).ok_or_else(|| {
                err(
                    1,
                    format!(
                        "header has no column `{c}`: not the output of catalog.sql \
                         (produce it with: {HOW_TO_PRODUCE})"
                    ),
                )
            })?;
        }
        // Optional: catalog files written before it was added lack it.
        let typnsp = names.iter().position(|n| *n == "typnspname");
        let mut cat = Catalog::default();
        for (n, line) in lines {
            let lineno = n + 1;
            if line.is_empty()
                || (line.starts_with('(') && line.ends_with(" rows)"))
                || line == "(1 row)"
            {
                continue;
            }
            let fields: Vec<&str> = line.split(sep).collect();
            if fields.len() != names.len() {
                return Err(err(
                    lineno,
                    format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        names.len()
                    ),
                ));
            }
            let f = |c: usize| fields[idx[c]];
            let e = |c: usize, what: &str| err(lineno, format!("`{}`: {what}", COLUMNS[c]));
            let num = |c: usize| -> Result<i64, CatalogError> {
                f(c).parse::<i64>()
                    .map_err(|_| e(c, &format!("`{}` is not a number", f(c))))
            };
            let u32f = |c: usize| -> Result<u32, CatalogError> {
                u32::try_from(num(c)?).map_err(|_| e(c, "out of range"))
            };
            let opt_u32 = |c: usize| -> Result<Option<u32>, CatalogError> {
                if f(c).is_empty() {
                    Ok(None)
                } else {
                    u32f(c).map(Some)
                }
            };
            let jstr = |c: usize| -> Result<String, CatalogError> {
                serde_json::from_str::<String>(f(c)).map_err(|_| e(c, "not a JSON string"))
            };
            let ch = |c: usize| -> Result<u8, CatalogError> {
                match f(c).as_bytes() {
                    [b] => Ok(*b),
                    _ => Err(e(c, "not one character")),
                }
            };
            let boolean = |c: usize| -> Result<bool, CatalogError> {
                match f(c) {
                    "t" => Ok(true),
                    "f" => Ok(false),
                    _ => Err(e(c, "not t or f")),
                }
            };
            let attnums = |c: usize| -> Result<Vec<i16>, CatalogError> {
                f(c).split_ascii_whitespace()
                    .map(|s| s.parse::<i16>().map_err(|_| e(c, "not attribute numbers")))
                    .collect()
            };
            let version = u32f(0)?;
            if cat.server_version_num == 0 {
                cat.server_version_num = version;
            } else if cat.server_version_num != version {
                return Err(e(0, "differs from the first line's"));
            }
            let oid = u32f(4)?;
            let ri = match cat.by_oid.get(&oid) {
                Some(&i) => i,
                None => {
                    let rel = RelInfo {
                        spc: u32f(1)?,
                        db: u32f(2)?,
                        relfilenode: u32f(3)?,
                        oid,
                        namespace: jstr(5)?,
                        name: jstr(6)?,
                        relkind: ch(7)?,
                        replident: ch(8)?,
                        toast_relfilenode: opt_u32(9)?,
                        toast_oid: opt_u32(10)?,
                        pkey: attnums(11)?,
                        ident: attnums(12)?,
                        attrs: Vec::new(),
                    };
                    let i = cat.relations.len();
                    let key = (rel.spc, rel.db, rel.relfilenode);
                    if cat.by_file.insert(key, i).is_some() {
                        return Err(e(3, "a second relation with this file"));
                    }
                    cat.by_oid.insert(oid, i);
                    cat.relations.push(rel);
                    i
                }
            };
            if f(13).is_empty() {
                continue;
            }
            let attnum = i16::try_from(num(13)?).map_err(|_| e(13, "out of range"))?;
            let rel = &mut cat.relations[ri];
            let expected = rel.attrs.len() + 1;
            if usize::try_from(attnum).ok() != Some(expected) {
                return Err(e(
                    13,
                    &format!(
                        "{attnum} where {expected} was expected (lines of one relation must \
                         be in attnum order)"
                    ),
                ));
            }
            let align = match ch(18)? {
                b'c' => 1,
                b's' => 2,
                b'i' => 4,
                b'd' => 8,
                _ => return Err(e(18, "not c, s, i or d")),
            };
            let len = i16::try_from(num(17)?).map_err(|_| e(17, "out of range"))?;
            if len == 0 || len < -2 {
                return Err(e(17, "not a valid attlen"));
            }
            let enum_labels = if f(29).is_empty() {
                Vec::new()
            } else {
                let m: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(f(29)).map_err(|_| e(29, "not a JSON object"))?;
                let mut v = Vec::with_capacity(m.len());
                for (k, l) in m {
                    let o = k.parse::<u32>().map_err(|_| e(29, "a key is not an OID"))?;
                    let l = l.as_str().ok_or_else(|| e(29, "a label is not a string"))?;
                    v.push((o, l.to_string()));
                }
                v
            };
            let attr = Attr {
                num: attnum,
                name: jstr(14)?,
                typid: u32f(15)?,
                typmod: i32::try_from(num(16)?).map_err(|_| e(16, "out of range"))?,
                len,
                align,
                byval: boolean(19)?,
                storage: ch(20)?,
                dropped: boolean(21)?,
                notnull: boolean(22)?,
                has_missing: boolean(23)?,
                missing: if f(24).is_empty() {
                    None
                } else {
                    Some(jstr(24)?)
                },
                typname: if f(25).is_empty() {
                    String::new()
                } else {
                    jstr(25)?
                },
                typtype: if f(26).is_empty() { b'b' } else { ch(26)? },
                basetype: opt_u32(27)?,
                elem: opt_u32(28)?,
                enum_labels,
                typnamespace: match typnsp.map(|i| fields[i]) {
                    None | Some("") => None,
                    Some(j) => Some(
                        serde_json::from_str::<String>(j)
                            .map_err(|_| err(lineno, "`typnspname`: not a JSON string".into()))?,
                    ),
                },
                named_type: None,
            };
            let mut attr = attr;
            if !attr.dropped && crate::types::is_named(&attr) {
                attr.named_type = Some(crate::types::type_name(&attr));
            }
            cat.relations[ri].attrs.push(attr);
        }
        if cat.relations.is_empty() {
            return Err(err(
                0,
                "no relation: the catalog file lists no table".into(),
            ));
        }
        Ok(cat)
    }

    /// The relation stored in file `loc`.
    pub fn by_file(&self, loc: replog_pgwal::RelFileLocator) -> Option<&RelInfo> {
        self.by_file
            .get(&(loc.spc, loc.db, loc.rel))
            .map(|&i| &self.relations[i])
    }

    /// The relation with OID `oid`.
    pub fn by_oid(&self, oid: u32) -> Option<&RelInfo> {
        self.by_oid.get(&oid).map(|&i| &self.relations[i])
    }

    /// Whether a relation of the catalog lives in database `db`.
    pub fn has_database(&self, db: u32) -> bool {
        self.relations.iter().any(|r| r.db == db)
    }

    /// The table whose TOAST table has OID `toast_oid`.
    pub fn owner_of_toast(&self, toast_oid: u32) -> Option<&RelInfo> {
        self.relations
            .iter()
            .find(|r| r.toast_oid == Some(toast_oid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "server_version_num\tspcoid\tdboid\trelfilenode\treloid\tnspname\trelname\trelkind\trelreplident\ttoast_relfilenode\ttoast_reloid\tpkey_attnums\tident_attnums\tattnum\tattname\tatttypid\tatttypmod\tattlen\tattalign\tattbyval\tattstorage\tattisdropped\tattnotnull\tatthasmissing\tattmissingval\ttypname\ttyptype\ttypbasetype\ttypelem\tenum_labels";

    fn sample() -> String {
        // Lines as catalog.sql printed them on PostgreSQL 15 for
        // `CREATE TABLE e (id int primary key, m mood, x text)` with `x`
        // dropped and `y int DEFAULT 5` added, and `CREATE TABLE z ()`.
        [
            HEADER,
            "150018\t1663\t5\t16391\t16391\t\"public\"\t\"e\"\tr\td\t16394\t16394\t1\t1\t1\t\"id\"\t23\t-1\t4\ti\tt\tp\tf\tt\tf\t\t\"int4\"\tb\t\t\t",
            "150018\t1663\t5\t16391\t16391\t\"public\"\t\"e\"\tr\td\t16394\t16394\t1\t1\t2\t\"m\"\t16385\t-1\t4\ti\tt\tp\tf\tf\tf\t\t\"mood\"\te\t\t\t{ \"16386\" : \"sad\", \"16388\" : \"o\\tk\" }",
            "150018\t1663\t5\t16391\t16391\t\"public\"\t\"e\"\tr\td\t16394\t16394\t1\t1\t3\t\"........pg.dropped.3........\"\t0\t-1\t-1\ti\tf\tx\tt\tf\tf\t\t\t\t\t\t",
            "150018\t1663\t5\t16391\t16391\t\"public\"\t\"e\"\tr\td\t16394\t16394\t1\t1\t4\t\"y\"\t23\t-1\t4\ti\tt\tp\tf\tf\tt\t\"{5}\"\t\"int4\"\tb\t\t\t",
            "150018\t1663\t5\t16399\t16399\t\"public\"\t\"z\"\tr\td\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
            "(5 rows)",
        ]
        .join("\n")
    }

    #[test]
    fn parses_relations_attributes_and_labels() {
        let c = Catalog::parse("t", sample().as_bytes()).expect("parse");
        assert_eq!(c.server_version_num, 150018);
        assert_eq!(c.relations.len(), 2);
        let e = c
            .by_file(replog_pgwal::RelFileLocator {
                spc: 1663,
                db: 5,
                rel: 16391,
            })
            .expect("e by file");
        assert_eq!(e.qualified_name(), "public.e");
        assert_eq!((e.relkind, e.replident), (b'r', b'd'));
        assert_eq!(
            (e.toast_relfilenode, e.toast_oid),
            (Some(16394), Some(16394))
        );
        assert_eq!(e.ident, vec![1]);
        assert_eq!(e.attrs.len(), 4);
        assert_eq!(e.attrs[1].enum_label(16388), Some("o\tk"));
        assert!(e.attrs[2].dropped);
        assert_eq!((e.attrs[2].len, e.attrs[2].align), (-1, 4));
        assert!(e.attrs[3].has_missing);
        assert_eq!(e.attrs[3].missing.as_deref(), Some("{5}"));
        assert!(c.by_oid(16399).expect("z").attrs.is_empty());
    }

    #[test]
    fn accepts_a_literal_backslash_t_separator() {
        // (Unless a JSON string holds an escaped tab: then the fields do
        // not line up and the file is refused.)
        let text = sample().replace("o\\tk", "ok").replace('\t', "\\t");
        let c = Catalog::parse("t", text.as_bytes()).expect("parse");
        assert_eq!(c.relations.len(), 2);
        assert_eq!(c.relations[0].attrs[1].enum_label(16388), Some("ok"));
        let text = sample().replace('\t', "\\t");
        assert!(Catalog::parse("t", text.as_bytes()).is_err());
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let text = sample().replace("\t2\t\"m\"\t", "\t7\t\"m\"\t");
        let e = Catalog::parse("cat.tsv", text.as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.to_string().starts_with("cat.tsv:3: `attnum`: 7 where 2"),
            "{e}"
        );
        let text = sample().replace("attalign", "align");
        let e = Catalog::parse("cat.tsv", text.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("no column `attalign`") && e.to_string().contains("psql"),
            "{e}"
        );
        let e = Catalog::load(Path::new("/nonexistent/catalog.tsv")).unwrap_err();
        assert!(e.to_string().contains(HOW_TO_PRODUCE), "{e}");
    }
}
