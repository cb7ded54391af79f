//! The invariants of `kafka/controller-zk`: at most one controller per
//! controller epoch; a controller deposed before it issued a write never
//! has that write accepted; a broker never applies a controller request
//! older than one it applied.

use std::collections::BTreeMap;

use crate::engine::SimTime;

use super::msg::{KafkaNote, Outcome};
use super::zk::Req;

/// Checks [`KafkaNote`]s as they are recorded.
#[derive(Clone, Debug, Default)]
pub struct KafkaChecker {
    /// Who won each controller epoch.
    winners: BTreeMap<u64, u32>,
    /// Writes in flight: (broker, req) -> (epoch, newest epoch elected when
    /// it was issued).
    writes: BTreeMap<(u32, Req), (u64, u64)>,
    /// Newest controller epoch each broker applied.
    applied: BTreeMap<u32, u64>,
}

impl KafkaChecker {
    fn newest(&self) -> u64 {
        self.winners.keys().next_back().copied().unwrap_or(0)
    }

    /// Check one note recorded at `now`; a violation, if any.
    pub fn on_note(&mut self, now: SimTime, note: &KafkaNote) -> Option<String> {
        match *note {
            KafkaNote::Elected { broker, epoch, .. } => {
                if let Some(&other) = self.winners.get(&epoch) {
                    if other != broker {
                        return Some(format!(
                            "{now}: brokers {other} and {broker} both won controller epoch {epoch}"
                        ));
                    }
                }
                self.winners.insert(epoch, broker);
            }
            KafkaNote::WriteIssued { broker, req, epoch } => {
                let newest = self.newest();
                self.writes.insert((broker, req), (epoch, newest));
            }
            KafkaNote::WriteDone {
                broker,
                req,
                outcome,
                ..
            } => {
                let (epoch, newest) = self
                    .writes
                    .remove(&(broker, req))
                    .expect("a write is issued before it is answered");
                if outcome == Outcome::Accepted && newest > epoch {
                    return Some(format!(
                        "{now}: broker {broker}'s write as controller of epoch {epoch} was \
                         accepted although epoch {newest} had been elected before it was issued"
                    ));
                }
            }
            KafkaNote::Applied { broker, epoch } => {
                let last = self.applied.entry(broker).or_insert(0);
                if epoch < *last {
                    return Some(format!(
                        "{now}: broker {broker} applied a request of controller epoch {epoch} \
                         after one of epoch {last}"
                    ));
                }
                *last = epoch;
            }
            KafkaNote::MetadataLoaded { .. }
            | KafkaNote::StaleEpoch { .. }
            | KafkaNote::Resigned { .. } => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: SimTime = SimTime(0);

    #[test]
    fn two_winners_of_one_epoch_are_a_violation() {
        let mut c = KafkaChecker::default();
        let won = |broker, epoch| KafkaNote::Elected {
            broker,
            epoch,
            version: 0,
        };
        assert_eq!(c.on_note(T, &won(0, 1)), None);
        assert_eq!(c.on_note(T, &won(1, 2)), None);
        assert!(c.on_note(T, &won(2, 2)).unwrap().contains("both won"));
    }

    #[test]
    fn a_deposed_controllers_accepted_write_is_a_violation_a_fenced_one_is_not() {
        let mut c = KafkaChecker::default();
        c.on_note(
            T,
            &KafkaNote::Elected {
                broker: 0,
                epoch: 1,
                version: 1,
            },
        );
        c.on_note(
            T,
            &KafkaNote::Elected {
                broker: 1,
                epoch: 2,
                version: 2,
            },
        );
        let issued = |req| KafkaNote::WriteIssued {
            broker: 0,
            req,
            epoch: 1,
        };
        let done = |req, outcome| KafkaNote::WriteDone {
            broker: 0,
            req,
            epoch: 1,
            outcome,
        };
        c.on_note(T, &issued(7));
        assert_eq!(c.on_note(T, &done(7, Outcome::EpochCheck)), None);
        c.on_note(T, &issued(8));
        assert!(c
            .on_note(T, &done(8, Outcome::Accepted))
            .unwrap()
            .contains("accepted"));
    }

    #[test]
    fn applying_an_older_epoch_after_a_newer_is_a_violation() {
        let mut c = KafkaChecker::default();
        let applied = |epoch| KafkaNote::Applied { broker: 3, epoch };
        assert_eq!(c.on_note(T, &applied(2)), None);
        assert_eq!(c.on_note(T, &applied(2)), None);
        assert!(c.on_note(T, &applied(1)).is_some());
    }
}
