//! SET and the per-statement session state: session variables,
//! user variables and the context a statement starts with.

use super::*;

impl<S: Storage, E: Environment> Store<S, E> {
    pub(super) fn set(&mut self, set: &sqlparser::ast::Set) -> Result<StatementResult> {
        use sqlparser::ast::ContextModifier;
        use sqlparser::ast::Set as S;
        let pairs: Vec<(String, &Expr)> = match set {
            S::SingleAssignment {
                scope,
                hivevar: false,
                variable,
                values,
            } => {
                let [v] = values.as_slice() else {
                    return Err(Error::unsupported("SET with several values"));
                };
                let name = match scope {
                    Some(ContextModifier::Global) => format!("@@global.{variable}"),
                    _ => variable.to_string(),
                };
                vec![(name, v)]
            }
            S::MultipleAssignments { assignments } => assignments
                .iter()
                .map(|a| (a.name.to_string(), &a.value))
                .collect(),
            S::SetNames { .. } | S::SetNamesDefault {} => {
                return Ok(StatementResult {
                    warnings: vec!["SET NAMES ignored".into()],
                    ..StatementResult::default()
                });
            }
            other => return Err(Error::unsupported(format!("statement {other}"))),
        };
        let mut out = StatementResult::default();
        let mut st = self.start_statement(false);
        for (name, value) in pairs {
            let is_default = matches!(value, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"));
            if let Some(var) = name.strip_prefix('@').filter(|n| !n.starts_with('@')) {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: &mut st,
                };
                let v = cx.eval(value, &Scope::default())?;
                let key = var.trim_matches('`').to_ascii_lowercase();
                self.session.user_vars.insert(key, v);
                continue;
            }
            let lname = name.trim_start_matches('@').to_ascii_lowercase();
            if let Some(global) = lname.strip_prefix("global.") {
                self.set_global(global, value, is_default, &mut st)?;
                continue;
            }
            let lname = lname
                .strip_prefix("session.")
                .or_else(|| lname.strip_prefix("local."))
                .unwrap_or(&lname)
                .to_string();
            if lname == "max_allowed_packet" {
                return Err(Error::new(
                    ErrorKind::ReadOnlyVariable,
                    "SESSION variable 'max_allowed_packet' is read-only. Use SET GLOBAL to assign the value",
                ));
            }
            let v = if is_default {
                Datum::Null
            } else {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: &mut st,
                };
                match value {
                    // ON / OFF and other bare words.
                    Expr::Identifier(i) if i.quote_style.is_none() && !i.value.starts_with('@') => {
                        Datum::Str(i.value.clone())
                    }
                    _ => cx.eval(value, &Scope::default())?,
                }
            };
            match lname.as_str() {
                "autocommit" => {
                    let on = match &v {
                        Datum::Str(s) => s.eq_ignore_ascii_case("ON") || s == "1",
                        d => d.truth() == Some(true),
                    } || is_default;
                    if on && !self.session.autocommit {
                        self.commit_open()?;
                    }
                    self.session.autocommit = on;
                }
                "timestamp" => {
                    self.session.timestamp = if is_default || v.is_null() {
                        None
                    } else {
                        let d = v.to_decimal().ok_or_else(|| {
                            Error::new(
                                ErrorKind::BadValue,
                                "Incorrect argument type to variable 'timestamp'",
                            )
                        })?;
                        let us = d
                            .mul(&Decimal::from_i64(1_000_000))
                            .and_then(|x| x.to_i128())
                            .and_then(|x| i64::try_from(x).ok());
                        Some(us.ok_or_else(|| {
                            Error::new(ErrorKind::BadValue, "timestamp out of range")
                        })?)
                    };
                }
                "insert_id" => {
                    self.session.insert_id = if is_default {
                        None
                    } else {
                        u64::try_from(v.to_i64()).ok()
                    }
                }
                "last_insert_id" => {
                    self.session.last_insert_id = u64::try_from(v.to_i64()).unwrap_or(0)
                }
                "rand_seed1" => {
                    self.session.rand.seed1 = v.to_i64().clamp(0, i64::from(u32::MAX)) as u32
                }
                "rand_seed2" => {
                    self.session.rand.seed2 = v.to_i64().clamp(0, i64::from(u32::MAX)) as u32
                }
                "server_id" => self.session.server_id = u64::try_from(v.to_i64()).unwrap_or(0),
                // CONNECTION_ID() of the statements that follow (what a
                // binlog's QUERY events carry): kept with the settings,
                // read by `start_statement`.
                "pseudo_thread_id" => {
                    let id = if is_default {
                        None
                    } else {
                        u64::try_from(v.to_i64()).ok()
                    };
                    match id {
                        Some(id) => self.session.settings.insert(lname, id.to_string()),
                        None => self.session.settings.remove(&lname),
                    };
                }
                // Kept for `non_strict`: the store applies strict mode only.
                "sql_mode" => {
                    if is_default {
                        self.session.settings.remove(&lname);
                    } else {
                        let mode = v.to_text().unwrap_or_default().to_ascii_uppercase();
                        self.session.settings.insert(lname, mode);
                    }
                }
                other => {
                    let shown = v.to_text().unwrap_or_else(|| "DEFAULT".into());
                    out.warnings.push(format!(
                        "unknown session setting '{other}' recorded and ignored"
                    ));
                    self.session.settings.insert(other.to_string(), shown);
                }
            }
        }
        out.warnings.append(&mut st.warnings);
        Ok(out)
    }

    /// `SET GLOBAL name = value`: only `max_allowed_packet`, which the
    /// store's one session takes at once (MariaDB's sessions take it at
    /// their next connect; its own session variable is read-only), as
    /// MariaDB rounds it: down to a multiple of 1 KiB, into 1 KiB to 1 GiB,
    /// with a warning when adjusted.
    fn set_global(
        &mut self,
        name: &str,
        value: &Expr,
        is_default: bool,
        st: &mut StmtState,
    ) -> Result<()> {
        use crate::functions::{
            DEFAULT_MAX_ALLOWED_PACKET, MAX_MAX_ALLOWED_PACKET, MIN_MAX_ALLOWED_PACKET,
        };
        if name != "max_allowed_packet" {
            return Err(Error::unsupported(format!("SET GLOBAL {name}")));
        }
        let bytes = if is_default {
            DEFAULT_MAX_ALLOWED_PACKET
        } else {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            let v = cx.eval(value, &Scope::default())?;
            if !matches!(
                v,
                Datum::Int(_) | Datum::UInt(_) | Datum::Dec(_) | Datum::Double(_)
            ) {
                return Err(Error::new(
                    ErrorKind::BadValue,
                    "Incorrect argument type to variable 'max_allowed_packet'",
                ));
            }
            let asked = v.to_i64();
            let clamped =
                (asked.max(0) as u64).clamp(MIN_MAX_ALLOWED_PACKET, MAX_MAX_ALLOWED_PACKET) / 1024
                    * 1024;
            if clamped as i64 != asked {
                st.warnings.push(format!(
                    "Truncated incorrect max_allowed_packet value: '{asked}'"
                ));
            }
            clamped
        };
        self.set_max_allowed_packet(bytes)
    }

    /// The session's sql_mode when it is not strict (neither
    /// STRICT_TRANS_TABLES nor STRICT_ALL_TABLES): there MariaDB stores an
    /// adjusted value with a warning where the store, strict only, refuses.
    pub(super) fn non_strict(&self) -> Option<&str> {
        let mode = self.session.settings.get("sql_mode")?;
        (!mode.contains("STRICT_TRANS_TABLES") && !mode.contains("STRICT_ALL_TABLES"))
            .then_some(mode.as_str())
    }

    pub(super) fn start_statement(&mut self, write: bool) -> StmtState {
        let ctx = self.next_context.take();
        if let Some(c) = &ctx {
            self.session.database.clone_from(&c.database);
            if let Some(r) = c.rand_seed {
                self.session.rand = r;
            }
            if let Some(l) = c.last_insert_id {
                self.session.last_insert_id = l;
            }
            for (n, v) in &c.user_vars {
                self.session.user_vars.insert(n.clone(), v.clone());
            }
        }
        let now_us = match &ctx {
            Some(c) => c.timestamp_us,
            None => self
                .session
                .timestamp
                .unwrap_or_else(|| self.env.now_micros()),
        };
        let insert_id = match &ctx {
            Some(c) => c.insert_id,
            None => self.session.insert_id.take(),
        };
        StmtState {
            now_us,
            ctx: StatementContext {
                database: self.session.database.clone(),
                timestamp_us: now_us,
                ..StatementContext::default()
            },
            strict_div: write,
            insert_id_forced: insert_id,
            replay_thread_id: ctx.as_ref().and_then(|c| c.thread_id).or_else(|| {
                self.session
                    .settings
                    .get("pseudo_thread_id")
                    .and_then(|id| id.parse().ok())
            }),
            ..StmtState::default()
        }
    }
}
