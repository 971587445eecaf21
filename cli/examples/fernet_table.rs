//! Writes a SQLite table of Fernet tokens, as a Python service using `cryptography` would have
//! left it: `fernet_table DB ROWS` with the Fernet key in `FERNET_KEY` (url-safe base64).
//! Table `secrets(id INTEGER PRIMARY KEY, value TEXT)`, 100-byte secrets. Used by the migration
//! benchmark (`cli/benches/migrate.sh`).

use keyroll::FernetKey;

/// The plaintext of row `i`: exactly 100 bytes, recomputable for checks.
fn secret(i: u64) -> String {
    format!("{:0>100}", format!("secret-{i}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: fernet_table DB ROWS")?;
    let rows: u64 = args.next().ok_or("usage: fernet_table DB ROWS")?.parse()?;
    let key = FernetKey::from_base64(std::env::var("FERNET_KEY")?.as_bytes())?;
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT)")?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO secrets (id, value) VALUES (?1, ?2)")?;
        let mut iv = [0u8; 16];
        let now = 1_700_000_000;
        for i in 1..=rows {
            getrandom::fill(&mut iv).map_err(|e| e.to_string())?;
            let token = keyroll::legacy::fernet::encrypt(&key, secret(i).as_bytes(), now, &iv);
            insert.execute(rusqlite::params![i as i64, token])?;
        }
    }
    tx.commit()?;
    Ok(())
}
