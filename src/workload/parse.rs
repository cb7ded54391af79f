//! Parser (to be written).
use super::{Plan, WorkloadError};
use std::path::Path;

pub fn load(path: &Path) -> Result<Plan, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|e| WorkloadError {
        file: path.display().to_string(),
        line: None,
        field: String::new(),
        message: e.to_string(),
    })?;
    parse(&path.display().to_string(), &text)
}

pub fn parse(file: &str, _text: &str) -> Result<Plan, WorkloadError> {
    Err(WorkloadError {
        file: file.into(),
        line: None,
        field: String::new(),
        message: "todo".into(),
    })
}
