//! `report`: how many values sit under each key version, counted in SQL from the text prefix
//! (`kr1:v<N>:`) or the binary header, with no key and no decryption.

use super::chart::{self, Bar, Kind};
use super::progress_table::{ShardRow, Store};
use super::rows::{magic_hex, FERNET_PREFIX, VERSION_OFFSET};
use super::target::Target;
use crate::args::DbArgs;
use crate::error::{exit, Result};
use crate::out;
use crate::session::Session;
use keyroll::envelope::{HEADER_LEN, MAGIC, TEXT_PREFIX};
use keyroll::{KeyKind, Keyring};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Counts per label: `v<N>`, `fernet`, `other`, `null`.
#[derive(Debug, Default, Serialize)]
pub struct Census {
    /// Rows per label.
    pub counts: BTreeMap<String, u64>,
}

impl Census {
    fn add(&mut self, label: String, n: u64) {
        let label = normalise(&label);
        *self.counts.entry(label).or_default() += n;
    }

    /// Non-null values.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| *k != "null")
            .map(|(_, v)| v)
            .sum()
    }

    /// Values under `version`.
    pub fn under(&self, version: u32) -> u64 {
        self.counts
            .get(&format!("v{version}"))
            .copied()
            .unwrap_or(0)
    }
}

/// `kr1:v12:` → `v12`; `bin:0000000c` → `v12`; others unchanged.
fn normalise(label: &str) -> String {
    if let Some(rest) = label.strip_prefix(TEXT_PREFIX) {
        let digits = rest.trim_end_matches(':');
        return match digits.parse::<u32>() {
            Ok(v) if digits.bytes().all(|b| b.is_ascii_digit()) => format!("v{v}"),
            _ => "other".into(),
        };
    }
    if let Some(hex) = label.strip_prefix("bin:") {
        return match u32::from_str_radix(hex, 16) {
            Ok(v) => format!("v{v}"),
            Err(_) => "other".into(),
        };
    }
    label.to_string()
}

/// The SQL label of a SQLite value: `null`, `bin:<version hex>`, `kr1:v<N>:`, `fernet` or
/// `other`.
fn sqlite_label(c: &str) -> String {
    format!(
        "CASE \
           WHEN {c} IS NULL THEN 'null' \
           WHEN typeof({c}) = 'blob' AND hex(substr({c}, 1, {ml})) = '{magic}' AND length({c}) >= {hl} \
             THEN 'bin:' || hex(substr({c}, {vo}, 4)) \
           WHEN typeof({c}) = 'text' AND substr({c}, 1, {pl}) = '{prefix}' AND instr(substr({c}, {pl1}, 11), ':') > 1 \
             THEN substr({c}, 1, {pl} + instr(substr({c}, {pl1}, 11), ':')) \
           WHEN typeof({c}) = 'text' AND substr({c}, 1, {fl}) = '{fernet}' THEN 'fernet' \
           ELSE 'other' END",
        ml = MAGIC.len(),
        magic = magic_hex(),
        hl = HEADER_LEN,
        vo = VERSION_OFFSET + 1,
        prefix = TEXT_PREFIX,
        pl = TEXT_PREFIX.len(),
        pl1 = TEXT_PREFIX.len() + 1,
        fernet = FERNET_PREFIX,
        fl = FERNET_PREFIX.len(),
    )
}

/// Counts a column of a SQLite table; with `ring`, values of no known prefix are tried
/// against it (see [`attribute_others`]).
pub fn sqlite(
    path: &std::path::Path,
    table: &str,
    column: &str,
    ring: Option<&Keyring>,
) -> Result<Census> {
    let conn = super::sqlite::open(path)?;
    let (t, c, _) = super::sqlite::check_columns(&conn, table, column, None)?;
    let label = sqlite_label(&c);
    let sql = format!("SELECT {label} AS k, count(*) FROM {t} GROUP BY k");
    let mut stmt = conn.prepare(&sql)?;
    let mut census = Census::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (label, n) = row?;
        census.add(label, n as u64);
    }
    if let Some(ring) = ring.filter(|r| has_raw_gcm(r) && census.counts.contains_key("other")) {
        let mut stmt = conn.prepare(&format!("SELECT {c} FROM {t} WHERE {label} = 'other'"))?;
        let mut rows = stmt.query([])?;
        let mut versions = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let version = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                    opened_by(ring, b)
                }
                _ => None,
            };
            if let Some(v) = version {
                *versions.entry(v).or_default() += 1;
            }
        }
        attribute_others(&mut census, versions);
    }
    Ok(census)
}

/// Whether `ring` holds raw AES-GCM versions (whose blobs carry no readable prefix).
fn has_raw_gcm(ring: &Keyring) -> bool {
    ring.versions().iter().any(|v| v.kind == KeyKind::RawGcm)
}

/// The raw AES-GCM version of `ring` that opens `token` (no associated data, as the old
/// managers wrote), if any; the plaintext is wiped inside core and never seen here. A blob
/// under a compromised version is named by the refusal.
fn opened_by(ring: &Keyring, token: &[u8]) -> Option<u32> {
    let version = match ring.verify(token, b"", None) {
        Ok(v) => v.key_version,
        Err(keyroll::Error::KeyCompromised(v)) => v,
        Err(_) => return None,
    };
    ring.version(version)
        .filter(|i| i.kind == KeyKind::RawGcm)
        .map(|i| i.version)
}

/// Raw AES-GCM blobs have no prefix the SQL census can read, so it counts them as `other`;
/// after `import-raw-gcm` the keyring knows them: `versions` (rows per raw-GCM version that
/// opened them) move from `other` to their versions.
fn attribute_others(census: &mut Census, versions: BTreeMap<u32, u64>) {
    let moved: u64 = versions.values().sum();
    for (v, n) in versions {
        *census.counts.entry(format!("v{v}")).or_default() += n;
    }
    if let Some(other) = census.counts.get_mut("other") {
        *other -= moved.min(*other);
        if *other == 0 {
            census.counts.remove("other");
        }
    }
}

/// Counts a column of a PostgreSQL table (raw-GCM blobs attributed as for SQLite).
pub fn postgres(url: &str, table: &str, column: &str, ring: Option<&Keyring>) -> Result<Census> {
    let mut client = super::postgres::connect(url)?;
    let t = super::postgres::check(&mut client, table, column, None)?;
    let c = &t.column;
    let bytes = t.value_kind == super::postgres::Kind::Bytes;
    let label = if bytes {
        format!(
            "CASE WHEN {c} IS NULL THEN 'null' \
               WHEN substring({c} from 1 for {ml}) = '\\x{magic}'::bytea AND length({c}) >= {hl} \
                 THEN 'bin:' || encode(substring({c} from {vo} for 4), 'hex') \
               ELSE 'other' END",
            ml = MAGIC.len(),
            magic = magic_hex(),
            hl = HEADER_LEN,
            vo = VERSION_OFFSET + 1
        )
    } else {
        format!(
            "CASE WHEN {c} IS NULL THEN 'null' \
               WHEN left({c}, {pl}) = '{prefix}' AND position(':' in substr({c}, {pl1}, 11)) > 1 \
                 THEN substr({c}, 1, {pl} + position(':' in substr({c}, {pl1}, 11))) \
               WHEN left({c}, {fl}) = '{fernet}' THEN 'fernet' \
               ELSE 'other' END",
            prefix = TEXT_PREFIX,
            pl = TEXT_PREFIX.len(),
            pl1 = TEXT_PREFIX.len() + 1,
            fernet = FERNET_PREFIX,
            fl = FERNET_PREFIX.len(),
        )
    };
    let sql = format!("SELECT {label} AS k, count(*) FROM {} GROUP BY k", t.table);
    let mut census = Census::default();
    for row in client.query(sql.as_str(), &[])? {
        census.add(row.get::<_, String>(0), row.get::<_, i64>(1) as u64);
    }
    if let Some(ring) = ring.filter(|r| has_raw_gcm(r) && census.counts.contains_key("other")) {
        let sql = format!("SELECT {c} FROM {} WHERE {label} = 'other'", t.table);
        let mut versions = BTreeMap::new();
        for row in client.query(sql.as_str(), &[])? {
            let version = if bytes {
                opened_by(ring, row.get::<_, &[u8]>(0))
            } else {
                opened_by(ring, row.get::<_, &str>(0).as_bytes())
            };
            if let Some(v) = version {
                *versions.entry(v).or_default() += 1;
            }
        }
        attribute_others(&mut census, versions);
    }
    Ok(census)
}

/// Counts per label for any target.
pub fn census(
    target: &Target,
    table: &str,
    column: &str,
    ring: Option<&Keyring>,
) -> Result<Census> {
    match target {
        Target::Sqlite(p) => sqlite(p, table, column, ring),
        Target::Postgres(u) => postgres(u, table, column, ring),
    }
}

/// `report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Show the workers of sharded migrations of this column (the progress table) instead
    /// of the per-version census.
    #[arg(long)]
    pub progress: bool,
}

/// `report` (`--progress`: the workers of sharded migrations, else the census).
pub fn command(s: &Session, report: &ReportArgs) -> Result<i32> {
    if report.progress {
        return progress(s, &Target::parse(&report.db.db)?, &report.db);
    }
    run(s, &report.db)
}

/// `report`'s census: rows per version as a chart, or JSON.
pub fn run(s: &Session, args: &DbArgs) -> Result<i32> {
    let target = Target::parse(&args.db)?;
    if !chart::colour_wanted() {
        // NO_COLOR also for the headings (`console` lets CLICOLOR_FORCE win over it).
        console::set_colors_enabled(false);
    }
    // The keyring is optional here: with it, the report names the active version and the
    // state of each version (and attributes raw-GCM blobs); without it, counts only.
    let ring = if s.store.exists() {
        Some(s.open()?)
    } else {
        None
    };
    let census = census(&target, &args.table, &args.column, ring.as_ref())?;
    let active = ring.as_ref().and_then(|r| r.active_version());
    let total = census.total();
    let current = active.map(|v| census.under(v)).unwrap_or(0);
    let to_migrate = total - current;
    let percent = if total == 0 {
        0.0
    } else {
        100.0 * to_migrate as f64 / total as f64
    };
    let state_of = |label: &str| -> Option<String> {
        let v: u32 = label.strip_prefix('v')?.parse().ok()?;
        ring.as_ref()?
            .version(v)
            .map(|i| i.state.as_str().to_string())
    };
    if s.global.json {
        let mut versions = serde_json::Map::new();
        for (label, n) in &census.counts {
            if label.starts_with('v') {
                versions.insert(
                    label.clone(),
                    json!({ "rows": n, "state": state_of(label) }),
                );
            }
        }
        out::json(&json!({
            "database": target.kind(),
            "table": args.table,
            "column": args.column,
            "total": total,
            "null": census.counts.get("null").copied().unwrap_or(0),
            "versions": versions,
            "fernet": census.counts.get("fernet").copied().unwrap_or(0),
            "other": census.counts.get("other").copied().unwrap_or(0),
            "active_version": active,
            "current": current,
            "to_migrate": to_migrate,
            "percent_to_migrate": (percent * 100.0).round() / 100.0,
        }));
        return Ok(exit::OK);
    }
    println!(
        "{} {}.{} ({})",
        out::bold("report"),
        args.table,
        args.column,
        target.kind()
    );
    let info_of = |label: &str| -> Option<keyroll::VersionInfo> {
        let v: u32 = label.strip_prefix('v')?.parse().ok()?;
        ring.as_ref()?.version(v).cloned()
    };
    let mut bars = Vec::new();
    for (label, n) in &census.counts {
        if label == "null" {
            continue;
        }
        let (name, kind) = match label.as_str() {
            "fernet" => ("Fernet (legacy)".to_string(), Kind::Legacy),
            "other" => ("other (raw/unreadable)".to_string(), Kind::Legacy),
            v => match info_of(v) {
                Some(i) => {
                    let legacy = matches!(i.kind, KeyKind::RawGcm | KeyKind::Fernet);
                    let kind = if i.state == keyroll::KeyState::Compromised {
                        Kind::Compromised
                    } else if Some(i.version) == active {
                        Kind::Active
                    } else if legacy {
                        Kind::Legacy
                    } else {
                        Kind::Older
                    };
                    let what = match i.kind {
                        KeyKind::RawGcm => ", raw AES-GCM",
                        KeyKind::Fernet => ", Fernet",
                        _ => "",
                    };
                    (format!("{v} ({}{what})", i.state.as_str()), kind)
                }
                None => (format!("{v} (not in keyring)"), Kind::Older),
            },
        };
        bars.push(Bar {
            label: name,
            rows: *n,
            kind,
        });
    }
    print!(
        "{}",
        chart::render(&bars, chart::terminal_width(), chart::colour_wanted())
    );
    if let Some(n) = census.counts.get("null") {
        println!("  {:<22} {:>12}", out::dim("NULL (skipped)"), n);
    }
    println!("  {:<22} {:>12}", "total", total);
    let off_legacy: u64 = bars
        .iter()
        .filter(|b| matches!(b.kind, Kind::Legacy | Kind::Compromised))
        .map(|b| b.rows)
        .sum();
    if off_legacy > 0 {
        let share = 100.0 * off_legacy as f64 / total.max(1) as f64;
        let line = format!("{off_legacy} values ({share:.1}%) still on compromised or legacy keys");
        let style = console::Style::new()
            .red()
            .force_styling(chart::colour_wanted());
        println!("{}", style.apply_to(line));
    }
    match active {
        Some(v) => {
            let line = format!("{to_migrate} values ({percent:.1}%) not yet under active v{v}");
            println!(
                "{}",
                if to_migrate == 0 {
                    out::good(line)
                } else {
                    out::warn(line)
                }
            );
        }
        None => println!("{}", out::dim("(no keyring opened: counts only)")),
    }
    Ok(exit::OK)
}

/// `report --progress`: every shard of every sharded run of the column, from the progress
/// table (nothing if no sharded run has started).
fn progress(s: &Session, target: &Target, args: &DbArgs) -> Result<i32> {
    let rows = Store::open(target)?.list(&args.table, &args.column)?;
    if s.global.json {
        out::json(&json!({
            "database": target.kind(),
            "table": args.table,
            "column": args.column,
            "progress_table": super::progress_table::TABLE,
            "workers": rows,
        }));
        return Ok(exit::OK);
    }
    print!("{}", progress_table_text(&args.table, &args.column, &rows));
    Ok(exit::OK)
}

/// The human table of `report --progress`.
pub fn progress_table_text(table: &str, column: &str, rows: &[ShardRow]) -> String {
    let mut text = format!("{} {table}.{column}\n", out::bold("migration workers"));
    if rows.is_empty() {
        text.push_str("  no sharded migration has started on this column\n");
        return text;
    }
    let header = [
        "run", "target", "shard", "range", "state", "read", "written", "skipped", "cursor", "host",
        "pid", "updated",
    ];
    let cells: Vec<[String; 12]> = rows
        .iter()
        .map(|r| {
            let range = r.range().map(|k| k.describe()).unwrap_or_default();
            [
                r.run_id.clone(),
                format!("v{}", r.target_version),
                format!("{}/{}", r.shard, r.shard_count),
                range,
                r.state.clone(),
                r.rows_read.to_string(),
                r.rows_written.to_string(),
                r.rows_skipped.to_string(),
                r.last_id.clone().unwrap_or_else(|| "-".into()),
                r.host.clone().unwrap_or_else(|| "-".into()),
                r.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                r.updated_at
                    .map(|t| out::time(t.max(0) as u64))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(console::measure_text_width(c));
        }
    }
    let line = |cols: Vec<&str>| -> String {
        let mut l = String::from(" ");
        for (c, w) in cols.iter().zip(&widths) {
            l.push_str(&format!(" {c:<w$}"));
        }
        l.trim_end().to_string() + "\n"
    };
    text.push_str(&line(header.to_vec()));
    for row in &cells {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    let done = rows.iter().filter(|r| r.state == "done").count();
    text.push_str(&format!("  {done} of {} shards done\n", rows.len()));
    text
}
