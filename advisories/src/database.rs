//! The records of a snapshot, indexed by (ecosystem, package name) so a
//! scan looks up each package once instead of walking every record.

use crate::ecosystem::normalize_name;
use crate::osv::{Affected, Record};
use std::collections::HashMap;

/// Records ready for matching.
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    /// (ecosystem name, normalised package name) → (record, affected entry).
    index: HashMap<(String, String), Vec<(u32, u32)>>,
    /// Ecosystem names (without release) that some record names.
    ecosystems: std::collections::HashSet<String>,
    withdrawn: usize,
    duplicates: usize,
}

impl Database {
    /// Index `records`. A withdrawn record is left out (schema: "the entry
    /// should be considered to have been withdrawn"); a record id seen
    /// twice (one record in several ecosystems' exports) is kept once, the
    /// most recently modified copy.
    pub fn new(records: impl IntoIterator<Item = Record>) -> Self {
        let mut by_id: HashMap<String, Record> = HashMap::new();
        let mut duplicates = 0;
        for record in records {
            match by_id.get(&record.id) {
                Some(kept) => {
                    duplicates += 1;
                    if record.modified > kept.modified {
                        by_id.insert(record.id.clone(), record);
                    }
                }
                None => {
                    by_id.insert(record.id.clone(), record);
                }
            }
        }
        let mut records: Vec<Record> = by_id.into_values().collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let before = records.len();
        records.retain(|r| r.withdrawn.is_none());
        let withdrawn = before - records.len();
        let mut index: HashMap<(String, String), Vec<(u32, u32)>> = HashMap::new();
        let mut ecosystems = std::collections::HashSet::new();
        for (r, record) in records.iter().enumerate() {
            for (a, affected) in record.affected.iter().enumerate() {
                if let Some(package) = &affected.package {
                    let ecosystem = package.ecosystem.name();
                    if !ecosystems.contains(ecosystem) {
                        ecosystems.insert(ecosystem.to_string());
                    }
                    let key = (
                        ecosystem.to_string(),
                        normalize_name(ecosystem, &package.name),
                    );
                    index.entry(key).or_default().push((r as u32, a as u32));
                }
            }
        }
        Self {
            records,
            index,
            ecosystems,
            withdrawn,
            duplicates,
        }
    }

    /// Records kept (withdrawn and duplicate ones left out).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Withdrawn records left out.
    pub fn withdrawn(&self) -> usize {
        self.withdrawn
    }

    /// Copies of a record id beyond the first.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Whether some record names a package of `ecosystem` (a name without
    /// release: `Debian`, `Maven`).
    pub fn covers(&self, ecosystem: &str) -> bool {
        self.ecosystems.contains(ecosystem)
    }

    /// Every (record, affected entry) naming this package in this ecosystem.
    pub fn lookup(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> impl Iterator<Item = (&Record, &Affected)> + '_ {
        let key = (ecosystem.to_string(), normalize_name(ecosystem, name));
        self.index.get(&key).into_iter().flatten().map(|&(r, a)| {
            let record = &self.records[r as usize];
            (record, &record.affected[a as usize])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, modified: &str, withdrawn: bool, fixed: &str) -> Record {
        let mut json = serde_json::json!({
            "id": id, "modified": modified,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Foo_Bar"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        });
        if withdrawn {
            json["withdrawn"] = "2024-06-01T00:00:00Z".into();
        }
        Record::parse(json.to_string().as_bytes(), id).unwrap()
    }

    #[test]
    fn withdrawn_records_are_left_out_and_the_newest_copy_of_an_id_kept() {
        let db = Database::new([
            record("PYSEC-1", "2024-01-01T00:00:00Z", false, "1.0"),
            record("PYSEC-1", "2024-05-01T00:00:00Z", false, "2.0"),
            record("PYSEC-1", "2024-03-01T00:00:00Z", false, "3.0"),
            record("PYSEC-2", "2024-01-01T00:00:00Z", true, "1.0"),
        ]);
        assert_eq!((db.len(), db.withdrawn(), db.duplicates()), (1, 1, 2));
        // Looked up by the PEP 503 name, whatever the spelling.
        let found: Vec<_> = db
            .lookup("PyPI", "foo.bar")
            .map(|(r, _)| r.modified.to_string())
            .collect();
        assert_eq!(found, ["2024-05-01T00:00:00Z"]);
    }
}
