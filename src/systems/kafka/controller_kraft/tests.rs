//! Scenario tests of kafka/controller-kraft.
