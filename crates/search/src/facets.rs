//! Counting matches by year, type and issuer from the fast fields, in one pass that also
//! counts the total.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

#[derive(Debug, Default)]
pub(crate) struct RawFacets {
    pub(crate) total: u64,
    pub(crate) years: HashMap<u64, u64>,
    pub(crate) types: HashMap<String, u64>,
    pub(crate) issuers: HashMap<String, u64>,
}

pub(crate) struct FacetCollector;

pub(crate) struct SegmentFacets {
    total: u64,
    year: Column<u64>,
    /// Counts per year, indexed from the segment's smallest year.
    year_min: u64,
    year_counts: Vec<u64>,
    buffer: Vec<Option<u64>>,
    doc_type: Option<StrColumn>,
    type_counts: Vec<u64>,
    issuer: Option<StrColumn>,
    issuer_counts: Vec<u64>,
}

impl Collector for FacetCollector {
    type Fruit = RawFacets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        let doc_type = fast.str("doc_type")?;
        let issuer = fast.str("issuer_facet")?;
        let year = fast.u64("year")?;
        let year_min = year.min_value();
        let span = year.max_value().saturating_sub(year_min).min(10_000) as usize + 1;
        Ok(SegmentFacets {
            total: 0,
            year,
            year_min,
            year_counts: vec![0; span],
            buffer: Vec::new(),
            type_counts: vec![0; doc_type.as_ref().map_or(0, |c| c.num_terms())],
            doc_type,
            issuer_counts: vec![0; issuer.as_ref().map_or(0, |c| c.num_terms())],
            issuer,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<RawFacets>) -> tantivy::Result<RawFacets> {
        let mut all = RawFacets::default();
        for fruit in fruits {
            all.total += fruit.total;
            for (k, v) in fruit.years {
                *all.years.entry(k).or_default() += v;
            }
            for (k, v) in fruit.types {
                *all.types.entry(k).or_default() += v;
            }
            for (k, v) in fruit.issuers {
                *all.issuers.entry(k).or_default() += v;
            }
        }
        Ok(all)
    }
}

fn count_ords(
    column: &Option<StrColumn>,
    counts: &mut [u64],
    docs: &[DocId],
    buffer: &mut [Option<u64>],
) {
    if let Some(column) = column {
        column.ords().first_vals(docs, buffer);
        for ord in buffer.iter().flatten() {
            if let Some(slot) = counts.get_mut(*ord as usize) {
                *slot += 1;
            }
        }
    }
}

fn named(column: Option<StrColumn>, counts: Vec<u64>) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let Some(column) = column else {
        return out;
    };
    let mut name = String::new();
    for (ord, count) in counts.into_iter().enumerate() {
        if count == 0 {
            continue;
        }
        name.clear();
        if column.ord_to_str(ord as u64, &mut name).unwrap_or(false) {
            *out.entry(name.clone()).or_default() += count;
        }
    }
    out
}

impl SegmentCollector for SegmentFacets {
    type Fruit = RawFacets;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.total += docs.len() as u64;
        self.buffer.resize(docs.len(), None);
        let buffer = &mut self.buffer[..docs.len()];
        self.year.first_vals(docs, buffer);
        for year in buffer.iter().flatten() {
            let slot = year.saturating_sub(self.year_min) as usize;
            if let Some(count) = self.year_counts.get_mut(slot) {
                *count += 1;
            }
        }
        count_ords(&self.doc_type, &mut self.type_counts, docs, buffer);
        count_ords(&self.issuer, &mut self.issuer_counts, docs, buffer);
    }

    fn harvest(self) -> RawFacets {
        let year_min = self.year_min;
        RawFacets {
            total: self.total,
            years: self
                .year_counts
                .iter()
                .enumerate()
                .filter(|(_, count)| **count > 0)
                .map(|(i, count)| (year_min + i as u64, *count))
                .collect(),
            types: named(self.doc_type, self.type_counts),
            issuers: named(self.issuer, self.issuer_counts),
        }
    }
}
