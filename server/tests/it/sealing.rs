//! Personal data at rest, on each backend: NIKs, names, addresses, face templates, evidence crops
//! and roster keys are stored sealed (read back as they were through the store), a database
//! opened with another key refuses to start, and data written before sealing is sealed on the
//! next start.

use crate::common;

use salur_server::store::seal::Sealer;
use salur_server::{Db, Storage};
use sqlx::{Connection, Row};

fn siti() -> salur_server::domain::roster::RosterRow {
    let mut row = common::roster_row("3171010101900001", "Siti Aminah", "blt-2026-11");
    row.address = "Jl. Melati 1, Menteng".into();
    row
}

/// The database's URL and, for SQLite, its files.
fn url(backend: &common::Backend) -> String {
    match &backend.storage {
        Storage::Dir(d) => {
            std::fs::create_dir_all(d).unwrap();
            format!("sqlite://{}?mode=rwc", d.join("salur.db").display())
        }
        Storage::Url(u) => u.clone(),
    }
}

async fn raw_rows(url: &str, sql: &str) -> Vec<sqlx::any::AnyRow> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut conn).await.unwrap()
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest_and_opens_only_with_its_key() {
    for backend in common::backends().await {
        let name = backend.name;
        let url = url(&backend);
        let key = [5u8; 32];
        let db = Db::connect_sealed(&url, Sealer::new(&key).unwrap()).await.unwrap();
        let template = vec![0x5a; 300];
        db.put_recipient(&siti(), Some(&template)).await.unwrap();
        let entries = db.roster_for_worker("blt-2026-11", "pos-1").await.unwrap();
        assert_eq!((entries[0].nik.as_str(), entries[0].name.as_str()), ("3171010101900001", "Siti Aminah"), "{name}");
        assert_eq!(entries[0].address, "Jl. Melati 1, Menteng");
        let roster_key = db.roster_key("blt-2026-11").await.unwrap();
        assert_eq!(roster_key.len(), 32);
        drop(db);

        // What a dump of the database shows.
        let rows = raw_rows(&url, "SELECT nik, name, address, template FROM recipients").await;
        let (nik, person, address): (String, String, String) = (rows[0].get(0), rows[0].get(1), rows[0].get(2));
        for v in [&nik, &person, &address] {
            assert!(v.starts_with("sld1:") && !v.contains("3171") && !v.contains("Siti"), "{name}: {v}");
        }
        let sealed_template: Vec<u8> = rows[0].get(3);
        assert!(!sealed_template.windows(8).any(|w| w == [0x5a; 8]), "{name}: the template is sealed");
        let stored_key: Vec<u8> = raw_rows(&url, "SELECT roster_key FROM rosters").await[0].get(0);
        assert!(!stored_key.windows(32).any(|w| w == roster_key.as_slice()), "{name}: the roster key is sealed");
        if let Storage::Dir(dir) = &backend.storage {
            for file in ["salur.db", "salur.db-wal"] {
                if let Ok(bytes) = std::fs::read(dir.join(file)) {
                    assert!(!bytes.windows(16).any(|w| w == b"3171010101900001"), "no NIK in {file}");
                    assert!(!bytes.windows(11).any(|w| w == b"Siti Aminah"), "no name in {file}");
                }
            }
        }

        // Another key: refused at start, naming what to do.
        let Err(err) = Db::connect_sealed(&url, Sealer::new(&[6; 32]).unwrap()).await else {
            panic!("{name}: opened with another key")
        };
        assert!(err.to_string().contains("seal key does not open"), "{name}: {err}");

        // Rows written in clear (a database from before sealing) are sealed at the next start.
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        for sql in [
            "UPDATE recipients SET nik = '3171010101900001', name = 'Siti Aminah'",
            "UPDATE seal_state SET canary = NULL",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        drop(conn);
        let db = Db::connect_sealed(&url, Sealer::new(&key).unwrap()).await.unwrap();
        assert_eq!(db.roster_for_worker("blt-2026-11", "pos-1").await.unwrap()[0].name, "Siti Aminah");
        let nik: String = raw_rows(&url, "SELECT nik FROM recipients").await[0].get(0);
        assert!(nik.starts_with("sld1:"), "{name}: sealed on start");
    }
}
