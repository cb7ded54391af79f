//! Workload files: TOML text to a validated [`Plan`].
//!
//! The document is parsed with `toml_edit`'s [`ImDocument`], which keeps the
//! byte span of every key and value, and walked by hand rather than through
//! serde: every error can then name the line, the dotted field, the value as
//! written and what is allowed. Unknown keys are errors at every level.
//!
//! Sweeps: a field marked sweepable in `workloads/README.md` may hold a list
//! of numbers (or, for a bool or enum parameter, of bools or words). The
//! first walk of the document registers each list as an axis and reads its
//! first value, which makes that walk sweep point 0. Every other point of the
//! cartesian product (last axis fastest) is a further walk in which each list
//! yields the value that point chooses, so every point is validated in full,
//! cross-checks included, and a bad value is reported at the line of its own
//! list element. Axes are ordered by their place in the file, not by the
//! order the walk meets them.
//!
//! What a file may say depends on its path's registry entry
//! ([`PathInfo`]): the node groups `nodes` and `[topology]` size, the fault
//! target words, and the parameters with their kinds. Node numbers in a file
//! run over every non-client node, group after group, as node ids do.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml_edit::{ImDocument, InlineTable, Item, Key, Table, Value};

use super::{Axis, AxisValue, Plan, Point, Runtime, Workload, WorkloadError};
use crate::engine::disk::DiskConfig;
use crate::engine::fault::{Action, FaultSpec, Target, When};
use crate::engine::live::mailbox::MailboxKind;
use crate::engine::live::LiveConfig;
use crate::engine::net::{Latency, LinkLatency, LossMode, NetConfig};
use crate::engine::sim::LoadConfig;
use crate::engine::{SimDuration, Topology};
use crate::systems::{self, fmt_num, ParamKind, ParamSpec, ParamValue, Params, PathInfo};

/// Most sweep points one file may expand to.
const MAX_POINTS: usize = 100_000;
/// Longest simulated trial, in milliseconds (one day).
const MAX_DURATION_MS: f64 = 86_400_000.0;
const MAX_TRIALS: i64 = 1_000_000;
const MAX_CLIENTS: f64 = 100_000.0;
const MAX_RATE_PER_S: f64 = 1e6;
/// Most operations a closed-loop client may keep outstanding.
const MAX_CONCURRENCY: f64 = 65_536.0;
/// Longest value excerpt quoted in a message.
const MAX_SHOWN_CHARS: usize = 60;
/// Largest workload file read, in bytes (1 MiB). The shipped files are a few
/// KiB; the cap keeps `validate /dev/zero` or a mistyped data file from
/// eating memory and time before TOML parsing could refuse it.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Longest `name`, in characters. The name is a results folder's name plus
/// `-YYYYMMDDTHHMMSSZ` and perhaps `-NNNN` (22 bytes), and names are ASCII,
/// so 100 keeps every folder name far below the usual 255-byte limit.
pub const MAX_NAME_CHARS: usize = 100;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "path",
    "runtime",
    "workers",
    "load_threads",
    "mailbox",
    "mailbox_capacity",
    "seed",
    "trials",
    "nodes",
    "topology",
    "duration_ms",
    "network",
    "disk",
    "clients",
    "faults",
    "params",
];
const NETWORK_KEYS: &[&str] = &[
    "latency",
    "loss",
    "loss_mode",
    "rto_ms",
    "duplicate",
    "reset_after_ms",
    "links",
];
const LINK_KEYS: &[&str] = &["from", "to", "base_ms"];
const DISK_KEYS: &[&str] = &["fsync", "throughput_mb_s"];
/// Fastest disk a file may describe, in MB/s (a petabyte per second): far
/// above any real device, and low enough that bytes per second stay finite.
const MAX_THROUGHPUT_MB_S: f64 = 1e9;
const CLIENT_KEYS: &[&str] = &[
    "count",
    "rate_per_s",
    "read_ratio",
    "start_ms",
    "warmup_ms",
    "arrival",
    "concurrency",
];
const FAULT_KEYS: &[&str] = &[
    "kind",
    "target",
    "at_ms",
    "from_ms",
    "to_ms",
    "duration_ms",
    "host_alive",
    "groups",
    "one_way",
];
const FAULT_KINDS: &[&str] = &[
    "crash",
    "restart",
    "pause",
    "resume",
    "isolate",
    "partition",
    "heal",
];

/// Read the workload file at `path`; errors name the path as given (lossily,
/// if it is not UTF-8: the name is only shown, never used to open anything).
pub fn load(path: &Path) -> Result<Plan, WorkloadError> {
    let file = path.display().to_string();
    let fail = |message: String| WorkloadError {
        file: file.clone(),
        line: None,
        field: String::new(),
        message,
    };
    // Read at most one byte past the cap: enough to know the file is too
    // big without reading all of it (`/dev/zero` never ends).
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(format!(
            "the file is larger than {MAX_FILE_BYTES} bytes (1 MiB), the most a workload file \
             may hold; is it a workload file?"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut plan = parse(&file, &text)?;
    plan.file = path.to_path_buf();
    Ok(plan)
}

/// Parse and validate workload `text`; `file` labels errors and the plan.
pub fn parse(file: &str, text: &str) -> Result<Plan, WorkloadError> {
    parse_in(file, text, systems::paths())
}

/// [`parse`] with `paths` standing for the registry. The tests use it to
/// exercise rules (several node groups, path target words, typed parameters)
/// that no registered path needs yet.
fn parse_in(file: &str, text: &str, paths: &'static [PathInfo]) -> Result<Plan, WorkloadError> {
    let mut r = Reader::new(file, text, paths);
    let doc = ImDocument::parse(text).map_err(|e| {
        let line = e.span().map(|s| r.line(s.start));
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        WorkloadError {
            file: file.into(),
            line,
            field: String::new(),
            message: format!("invalid TOML: {message}"),
        }
    })?;
    let root = Tbl {
        body: Body::Std(doc.as_table()),
        path: String::new(),
        line: 1,
    };

    let (first, description) = r.workload(&root)?;
    r.discovering = false;
    r.sweeps.sort_by_key(|s| s.offset);
    let total = r.point_count()?;

    let name = first.name.clone();
    let mut points = Vec::with_capacity(total);
    points.push(Point {
        index: 0,
        values: r.sweeps.iter().map(|s| s.elems[0].axis()).collect(),
        workload: first,
    });
    for index in 1..total {
        let mut rest = index;
        for s in r.sweeps.iter_mut().rev() {
            s.chosen = rest % s.elems.len();
            rest /= s.elems.len();
        }
        let (workload, _) = r.workload(&root)?;
        points.push(Point {
            index,
            values: r.sweeps.iter().map(|s| s.elems[s.chosen].axis()).collect(),
            workload,
        });
    }

    let axes = r
        .sweeps
        .iter()
        .map(|s| Axis {
            column: s.column.clone(),
            line: s.line,
            values: s.elems.iter().map(Elem::axis).collect(),
        })
        .collect();
    Ok(Plan {
        file: PathBuf::from(file),
        sha256: hex_sha256(text.as_bytes()),
        name,
        description,
        axes,
        points,
        warnings: r.warnings,
    })
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A table of the document, standard (`[x]`, `[[x]]`, dotted) or inline.
#[derive(Clone, Copy)]
enum Body<'a> {
    Std(&'a Table),
    Inline(&'a InlineTable),
}

/// A table with its dotted field path and the line that stands for it (its
/// header, its first key, or line 1 for the root).
#[derive(Clone)]
struct Tbl<'a> {
    body: Body<'a>,
    /// Dotted path of the table; empty for the root.
    path: String,
    line: usize,
}

impl<'a> Tbl<'a> {
    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<(&'a Key, &'a Item)> {
        match self.body {
            Body::Std(t) => t.get_key_value(key),
            Body::Inline(t) => t.get_key_value(key),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every key and item, in the order written.
    fn entries(&self) -> Vec<(&'a Key, &'a Item)> {
        match self.body {
            Body::Std(t) => t.iter().filter_map(|(k, _)| t.get_key_value(k)).collect(),
            Body::Inline(t) => t.iter().filter_map(|(k, _)| t.get_key_value(k)).collect(),
        }
    }
}

/// A value as written in the file: where it is and its source text.
#[derive(Clone, Debug)]
struct Lit {
    line: usize,
    raw: String,
}

/// A number read from the file (an integer or a float).
#[derive(Clone, Debug)]
struct Num {
    v: f64,
    at: Lit,
}

/// One value of a sweepable field: a number, or the bool or word of a typed
/// parameter.
#[derive(Clone, Debug)]
enum Scalar {
    Num(f64),
    Bool(bool),
    Str(String),
}

/// A sweepable value as read, with its place in the file.
#[derive(Clone, Debug)]
struct Elem {
    v: Scalar,
    at: Lit,
}

impl Elem {
    /// The value as an axis value: bools and words become text, so a result
    /// column shows them as written.
    fn axis(&self) -> AxisValue {
        match &self.v {
            Scalar::Num(v) => AxisValue::Num(*v),
            Scalar::Bool(b) => AxisValue::Text(b.to_string()),
            Scalar::Str(s) => AxisValue::Text(s.clone()),
        }
    }

    /// The number of an element read as [`Kind::Int`] or [`Kind::Float`].
    fn into_num(self) -> Num {
        match self.v {
            Scalar::Num(v) => Num { v, at: self.at },
            other => unreachable!("a numeric field read a non-number: {other:?}"),
        }
    }
}

/// A list of values standing for one sweep axis.
struct Sweep {
    column: String,
    /// Byte offset of the list, for document order.
    offset: usize,
    line: usize,
    elems: Vec<Elem>,
    /// Index of the value the current walk uses.
    chosen: usize,
}

/// What a sweepable field accepts.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Kind {
    /// A TOML integer only.
    Int,
    /// A TOML integer or float.
    Float,
    /// A TOML boolean.
    Bool,
    /// A TOML string.
    Str,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Float => "a number",
            Kind::Bool => "true or false",
            Kind::Str => "a string",
        }
    }
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    sweeps: Vec<Sweep>,
    /// True during the first walk, which registers the sweep lists.
    discovering: bool,
    /// The paths a file may name (the registry, outside tests).
    paths: &'static [PathInfo],
    /// Legal values that make a run (partly) meaningless, each once even
    /// when several sweep points repeat it.
    warnings: Vec<WorkloadError>,
}

type Res<T> = Result<T, WorkloadError>;

impl<'a> Reader<'a> {
    fn new(file: &'a str, text: &'a str, paths: &'static [PathInfo]) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Reader {
            file,
            text,
            line_starts,
            sweeps: Vec::new(),
            discovering: true,
            paths,
            warnings: Vec::new(),
        }
    }

    // ---- places and messages ----

    /// 1-based line of byte offset `byte`.
    fn line(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= byte).max(1)
    }

    fn span_line(&self, span: Option<Range<usize>>, fallback: usize) -> usize {
        span.map_or(fallback, |s| self.line(s.start))
    }

    fn key_line(&self, key: &Key) -> usize {
        self.span_line(key.span(), 1)
    }

    /// Line of an item: its value or header, else its key.
    fn item_line(&self, key: &Key, item: &Item) -> usize {
        let k = self.key_line(key);
        self.span_line(item.span(), k)
    }

    /// The source text of `span`, whitespace collapsed and shortened.
    fn raw(&self, span: Option<Range<usize>>) -> String {
        let Some(s) = span else {
            return String::from("(value)");
        };
        let text = self.text.get(s).unwrap_or("");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() > MAX_SHOWN_CHARS {
            let head: String = flat.chars().take(MAX_SHOWN_CHARS - 3).collect();
            format!("{head}...")
        } else {
            flat
        }
    }

    fn lit(&self, v: &Value, fallback_line: usize) -> Lit {
        Lit {
            line: self.span_line(v.span(), fallback_line),
            raw: self.raw(v.span()),
        }
    }

    /// What an item is, for "expected X, found Y".
    fn describe(&self, item: &Item) -> String {
        match item {
            Item::None => "nothing".into(),
            Item::Value(v) => self.describe_value(v),
            Item::Table(_) => "a table".into(),
            Item::ArrayOfTables(_) => "an array of tables".into(),
        }
    }

    fn describe_value(&self, v: &Value) -> String {
        let raw = self.raw(v.span());
        match v {
            Value::String(_) => format!("string {raw}"),
            Value::Integer(_) => format!("integer {raw}"),
            Value::Float(_) => format!("float {raw}"),
            Value::Boolean(_) => format!("boolean {raw}"),
            Value::Datetime(_) => format!("datetime {raw}"),
            Value::Array(_) => format!("array {raw}"),
            Value::InlineTable(_) => format!("inline table {raw}"),
        }
    }

    fn err(
        &self,
        line: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> WorkloadError {
        WorkloadError {
            file: self.file.into(),
            line: Some(line),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Record a warning (a legal value that makes the run meaningless),
    /// worded like an error; a repeat from another sweep point is dropped.
    fn warn(&mut self, line: usize, field: impl Into<String>, message: impl Into<String>) {
        let w = self.err(line, field, message);
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    fn wrong_type(&self, field: &str, key: &Key, item: &Item, expected: &str) -> WorkloadError {
        self.err(
            self.item_line(key, item),
            field,
            format!("expected {expected}, found {}", self.describe(item)),
        )
    }

    fn missing(&self, t: &Tbl, key: &str, hint: &str) -> WorkloadError {
        self.err(
            t.line,
            t.field(key),
            format!("required key is missing; {hint}"),
        )
    }

    /// `"<value> is not allowed: <why>"` at the value's line.
    fn refuse(&self, at: &Lit, field: &str, why: impl std::fmt::Display) -> WorkloadError {
        self.err(at.line, field, format!("{} is not allowed: {why}", at.raw))
    }

    fn check(&self, n: &Num, field: &str, ok: bool, why: impl std::fmt::Display) -> Res<()> {
        if ok && n.v.is_finite() {
            Ok(())
        } else {
            Err(self.refuse(&n.at, field, why))
        }
    }

    /// Refuse keys of `t` not in `allowed`.
    fn check_keys(&self, t: &Tbl, allowed: &[&str], what: &str) -> Res<()> {
        for (key, _) in t.entries() {
            if !allowed.contains(&key.get()) {
                return Err(self.err(
                    self.key_line(key),
                    t.field(key.get()),
                    format!(
                        "unknown key{what}; allowed keys here: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    // ---- typed getters ----

    fn string(&self, t: &Tbl, key: &str) -> Res<Option<(String, Lit)>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(None);
        };
        match item {
            Item::Value(v @ Value::String(s)) => Ok(Some((s.value().clone(), self.lit(v, 1)))),
            _ => Err(self.wrong_type(&t.field(key), k, item, "a string")),
        }
    }

    fn boolean(&self, t: &Tbl, key: &str) -> Res<Option<bool>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(None);
        };
        match item {
            Item::Value(Value::Boolean(b)) => Ok(Some(*b.value())),
            _ => Err(self.wrong_type(&t.field(key), k, item, "true or false")),
        }
    }

    /// A TOML integer that cannot be swept.
    fn int(&self, t: &Tbl, key: &str) -> Res<Option<(i64, Lit)>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(None);
        };
        let field = t.field(key);
        match item {
            Item::Value(v @ Value::Integer(i)) => Ok(Some((*i.value(), self.lit(v, 1)))),
            Item::Value(v @ Value::Array(_)) => {
                Err(self.refuse(&self.lit(v, 1), &field, "cannot be swept: give one integer"))
            }
            _ => Err(self.wrong_type(&field, k, item, "an integer")),
        }
    }

    /// A number that may be a sweep list.
    fn num(&mut self, t: &Tbl, key: &str, kind: Kind) -> Res<Option<Num>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(None);
        };
        self.num_item(&t.field(key), k, item, kind).map(Some)
    }

    fn num_item(&mut self, field: &str, key: &Key, item: &Item, kind: Kind) -> Res<Num> {
        self.sweep_item(field, key, item, kind, kind.expected())
            .map(Elem::into_num)
    }

    /// One value of `kind`, or a sweep list of them; `expected` says what is
    /// allowed when the value has the wrong type.
    fn sweep_item(
        &mut self,
        field: &str,
        key: &Key,
        item: &Item,
        kind: Kind,
        expected: &str,
    ) -> Res<Elem> {
        let Item::Value(v) = item else {
            return Err(self.wrong_type(field, key, item, expected));
        };
        let line = self.item_line(key, item);
        let Value::Array(list) = v else {
            return self.scalar(field, v, kind, expected, line, "");
        };
        if !self.discovering {
            let s = self
                .sweeps
                .iter()
                .find(|s| s.column == field)
                .expect("every walk reads the same fields, so the first walk found this list");
            return Ok(s.elems[s.chosen].clone());
        }
        if list.is_empty() {
            return Err(self.err(line, field, "empty sweep list: give at least one value"));
        }
        let elems = list
            .iter()
            .map(|e| self.scalar(field, e, kind, expected, line, " in the sweep list"))
            .collect::<Res<Vec<Elem>>>()?;
        debug_assert!(
            self.sweeps.iter().all(|s| s.column != field),
            "a column is swept twice: {field}"
        );
        let first = elems[0].clone();
        self.sweeps.push(Sweep {
            column: field.to_string(),
            offset: list.span().map_or(0, |s| s.start),
            line,
            elems,
            chosen: 0,
        });
        Ok(first)
    }

    fn scalar(
        &self,
        field: &str,
        v: &Value,
        kind: Kind,
        expected: &str,
        line: usize,
        within: &str,
    ) -> Res<Elem> {
        let x = match (v, kind) {
            (Value::Integer(i), Kind::Int | Kind::Float) => Scalar::Num(*i.value() as f64),
            (Value::Float(f), Kind::Float) => Scalar::Num(*f.value()),
            (Value::Boolean(b), Kind::Bool) => Scalar::Bool(*b.value()),
            (Value::String(s), Kind::Str) => Scalar::Str(s.value().clone()),
            _ => {
                return Err(self.err(
                    self.span_line(v.span(), line),
                    field,
                    format!(
                        "expected {expected}{within}, found {}",
                        self.describe_value(v)
                    ),
                ))
            }
        };
        Ok(Elem {
            v: x,
            at: self.lit(v, line),
        })
    }

    fn table<'d>(&self, t: &Tbl<'d>, key: &str) -> Res<Option<Tbl<'d>>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(None);
        };
        self.as_table(&t.field(key), k, item).map(Some)
    }

    fn as_table<'d>(&self, field: &str, key: &Key, item: &'d Item) -> Res<Tbl<'d>> {
        let line = self.item_line(key, item);
        match item {
            Item::Table(t) => Ok(Tbl {
                body: Body::Std(t),
                path: field.to_string(),
                line,
            }),
            Item::Value(Value::InlineTable(t)) => Ok(Tbl {
                body: Body::Inline(t),
                path: field.to_string(),
                line,
            }),
            _ => Err(self.wrong_type(field, key, item, "a table")),
        }
    }

    /// `[[key]]` entries, or `key = [{...}, ...]`; entries are numbered from 1.
    fn tables<'d>(&self, t: &Tbl<'d>, key: &str) -> Res<Vec<Tbl<'d>>> {
        let Some((k, item)) = t.get(key) else {
            return Ok(Vec::new());
        };
        let field = t.field(key);
        let header = self.key_line(k);
        match item {
            Item::ArrayOfTables(a) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, e)| Tbl {
                    body: Body::Std(e),
                    path: format!("{field}.{}", i + 1),
                    line: self.span_line(e.span(), header),
                })
                .collect()),
            Item::Value(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, e)| match e {
                    Value::InlineTable(it) => Ok(Tbl {
                        body: Body::Inline(it),
                        path: format!("{field}.{}", i + 1),
                        line: self.span_line(e.span(), header),
                    }),
                    _ => Err(self.err(
                        self.span_line(e.span(), header),
                        format!("{field}.{}", i + 1),
                        format!("expected a table, found {}", self.describe_value(e)),
                    )),
                })
                .collect(),
            _ => Err(self.wrong_type(
                &field,
                k,
                item,
                &format!("an array of tables ([[{field}]])"),
            )),
        }
    }

    // ---- the schema ----

    /// One walk of the whole file: one sweep point and the description.
    fn workload(&mut self, root: &Tbl) -> Res<(Workload, String)> {
        self.check_keys(root, TOP_KEYS, "")?;

        let (name, name_at) = self.string(root, "name")?.ok_or_else(|| {
            self.missing(
                root,
                "name",
                "give a name of letters, digits, '_', '.' and '-'",
            )
        })?;
        let name_ok = !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !name_ok {
            return Err(self.refuse(
                &name_at,
                "name",
                "use only letters, digits, '_', '.' and '-' (not \".\" or \"..\"); the name is \
                 used in folder names",
            ));
        }
        let name_chars = name.chars().count();
        if name_chars > MAX_NAME_CHARS {
            return Err(self.refuse(
                &name_at,
                "name",
                format!(
                    "{name_chars} characters; at most {MAX_NAME_CHARS} are allowed, since the \
                     name is the start of a results folder's name"
                ),
            ));
        }
        let description = self
            .string(root, "description")?
            .map_or(String::new(), |d| d.0);

        let all_paths = || {
            self.paths
                .iter()
                .map(|p| p.path)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (path_name, path_at) = self.string(root, "path")?.ok_or_else(|| {
            self.missing(root, "path", &format!("allowed paths: {}", all_paths()))
        })?;
        let found = self.paths.iter().find(|p| p.path == path_name);
        let path: &'static PathInfo = found.ok_or_else(|| {
            self.refuse(&path_at, "path", format!("allowed paths: {}", all_paths()))
        })?;

        let runtime = match self.string(root, "runtime")? {
            None => Runtime::Sim,
            Some((r, _)) if r == "sim" => Runtime::Sim,
            Some((r, _)) if r == "live" => Runtime::Live,
            Some((_, at)) => return Err(self.refuse(&at, "runtime", "allowed: sim, live")),
        };
        let mut live = LiveConfig::default();
        if let Some((w, at)) = self.int(root, "workers")? {
            if !(1..=1024).contains(&w) {
                return Err(self.refuse(&at, "workers", "must be in 1..=1024"));
            }
            live.workers = w as usize;
        }
        if let Some((k, at)) = self.int(root, "load_threads")? {
            if !(1..=1024).contains(&k) {
                return Err(self.refuse(&at, "load_threads", "must be in 1..=1024"));
            }
            live.load_threads = k as usize;
        }
        match self.string(root, "mailbox")? {
            None => {}
            Some((m, _)) if m == "lock-free" => live.mailbox = MailboxKind::LockFree,
            Some((m, _)) if m == "mutex" => live.mailbox = MailboxKind::Mutex,
            Some((_, at)) => {
                return Err(self.refuse(&at, "mailbox", "allowed: \"lock-free\", \"mutex\""))
            }
        }
        if let Some((c, at)) = self.int(root, "mailbox_capacity")? {
            if !(1..=1 << 24).contains(&c) {
                return Err(self.refuse(&at, "mailbox_capacity", "must be in 1..=16777216"));
            }
            live.capacity = c as usize;
        }

        let seed = match self.int(root, "seed")? {
            None => 1,
            Some((s, at)) => {
                u64::try_from(s).map_err(|_| self.refuse(&at, "seed", "must be an integer >= 0"))?
            }
        };
        let trials = match self.int(root, "trials")? {
            None => 100,
            Some((n, _)) if (1..=MAX_TRIALS).contains(&n) => n as u64,
            Some((_, at)) => {
                return Err(self.refuse(&at, "trials", format!("must be in 1..={MAX_TRIALS}")))
            }
        };

        let topology = self.topology(root, path)?;
        let nodes = topology.servers();

        let (duration_ms, duration_line) = match self.num(root, "duration_ms", Kind::Float)? {
            None => (60_000.0, root.line),
            Some(d) => {
                self.check(
                    &d,
                    "duration_ms",
                    d.v > 0.0 && d.v <= MAX_DURATION_MS,
                    format!(
                        "simulated time per trial must be > 0 and <= {} ms",
                        fmt_num(MAX_DURATION_MS)
                    ),
                )?;
                // Time is kept in whole nanoseconds: a positive duration
                // below half a nanosecond would be a trial of no time at all.
                self.check(
                    &d,
                    "duration_ms",
                    SimDuration::from_ms_f64(d.v) > SimDuration::ZERO,
                    "rounds to 0 ns of simulated time (time is kept in whole nanoseconds); \
                     give at least 0.000001 ms",
                )?;
                (d.v, d.at.line)
            }
        };
        let duration = SimDuration::from_ms_f64(duration_ms);

        let net = match self.table(root, "network")? {
            None => NetConfig::default(),
            Some(t) => self.network(&t, &topology, duration)?,
        };
        let disk = match self.table(root, "disk")? {
            None => DiskConfig::default(),
            Some(t) => self.disk(&t, duration)?,
        };
        let load = match self.table(root, "clients")? {
            None => LoadConfig::default(),
            Some(t) => self.clients(&t, duration_ms)?,
        };
        if load.clients > 0 && load.start >= duration {
            let line = self
                .table(root, "clients")?
                .and_then(|t| t.get("start_ms").map(|(k, item)| self.item_line(k, item)))
                .unwrap_or(duration_line);
            self.warn(
                line,
                "clients.start_ms",
                format!(
                    "clients start at {} ms, at or after the end of the trial (duration_ms = {}): \
                     no client operation is possible, so no failover can be measured",
                    fmt_num(load.start.as_ms_f64()),
                    fmt_num(duration_ms)
                ),
            );
        }
        let faults = self.faults(root, path, &topology, duration_ms)?;
        // Per-node defaults are as long as their group, so the defaults are
        // built only once the topology is known.
        let sizes = topology.sizes();
        let mut params = path.default_params(&sizes);
        if let Some(t) = self.table(root, "params")? {
            self.params(&t, path, &sizes, &mut params)?;
        }

        let workload = Workload {
            name,
            path,
            runtime,
            seed,
            trials,
            nodes,
            topology,
            duration,
            net,
            disk,
            load,
            faults,
            params,
            live,
        };
        Ok((workload, description))
    }

    /// The size of every node group of `path`: the first from `nodes` or
    /// `[topology]`, the others from `[topology]` or their defaults.
    fn topology(&mut self, root: &Tbl, path: &'static PathInfo) -> Res<Topology> {
        let primary = path.primary();
        let table = self.table(root, "topology")?;
        if let Some(t) = &table {
            let names: Vec<&str> = path.groups.iter().map(|g| g.name).collect();
            for (key, _) in t.entries() {
                if !names.contains(&key.get()) {
                    return Err(self.err(
                        self.key_line(key),
                        t.field(key.get()),
                        format!(
                            "unknown node group of {}; allowed keys here: {}",
                            path.path,
                            names.join(", ")
                        ),
                    ));
                }
            }
            // `nodes` is a short form of `[topology] <first group>`; both at
            // once would leave one of them silently ignored.
            if let (Some((nodes_key, _)), Some((key, _))) = (root.get("nodes"), t.get(primary.name))
            {
                return Err(self.err(
                    self.key_line(key),
                    t.field(primary.name),
                    format!(
                        "sizes the same group as nodes (line {}); give one of them",
                        self.key_line(nodes_key)
                    ),
                ));
            }
        }

        let mut groups = Vec::with_capacity(path.groups.len());
        for (i, g) in path.groups.iter().enumerate() {
            let needs = format!("{} needs {}..={} {}", path.path, g.min, g.max, g.name);
            let given = if i == 0 && root.has("nodes") {
                self.num(root, "nodes", Kind::Int)?
                    .map(|n| (n, "nodes".to_string()))
            } else {
                match &table {
                    Some(t) => self
                        .num(t, g.name, Kind::Int)?
                        .map(|n| (n, t.field(g.name))),
                    None => None,
                }
            };
            let size = match (given, g.default) {
                (Some((n, field)), _) => {
                    self.check(
                        &n,
                        &field,
                        n.v >= g.min as f64 && n.v <= g.max as f64,
                        &needs,
                    )?;
                    n.v as usize
                }
                (None, Some(d)) => d,
                (None, None) if i == 0 => {
                    return Err(self.missing(
                        root,
                        "nodes",
                        &format!("{needs}; give nodes = N or [topology] {} = N", g.name),
                    ))
                }
                (None, None) => {
                    let (line, field) = match &table {
                        Some(t) => (t.line, t.field(g.name)),
                        None => (root.line, format!("topology.{}", g.name)),
                    };
                    return Err(self.err(line, field, format!("required key is missing; {needs}")));
                }
            };
            groups.push((g.name, size));
        }
        Ok(Topology { groups })
    }

    fn network(&mut self, t: &Tbl, topology: &Topology, duration: SimDuration) -> Res<NetConfig> {
        self.check_keys(t, NETWORK_KEYS, "")?;
        let mut net = NetConfig::default();
        if let Some(lt) = self.table(t, "latency")? {
            net.latency = self.latency(&lt, duration)?;
        }
        for key in ["loss", "duplicate"] {
            if let Some(p) = self.num(t, key, Kind::Float)? {
                let field = t.field(key);
                self.check(
                    &p,
                    &field,
                    (0.0..1.0).contains(&p.v),
                    "a probability must be >= 0 and < 1",
                )?;
                if key == "loss" {
                    net.loss = p.v;
                } else {
                    net.duplicate = p.v;
                }
            }
        }
        if let Some((m, at)) = self.string(t, "loss_mode")? {
            net.loss_mode = match m.as_str() {
                "retransmit" => LossMode::Retransmit,
                "drop" => LossMode::Drop,
                _ => {
                    return Err(self.refuse(
                        &at,
                        &t.field("loss_mode"),
                        "allowed: retransmit, drop",
                    ))
                }
            };
        }
        if let Some(p) = self.num(t, "rto_ms", Kind::Float)? {
            self.check(
                &p,
                &t.field("rto_ms"),
                p.v > 0.0 && p.v <= 120_000.0,
                "must be > 0 and <= 120000 ms",
            )?;
            net.rto = SimDuration::from_ms_f64(p.v);
        }
        if let Some(p) = self.num(t, "reset_after_ms", Kind::Float)? {
            self.check(
                &p,
                &t.field("reset_after_ms"),
                (0.0..=60_000.0).contains(&p.v),
                "must be >= 0 and <= 60000 ms",
            )?;
            net.reset_after = SimDuration::from_ms_f64(p.v);
        }
        for link in self.tables(t, "links")? {
            self.check_keys(&link, LINK_KEYS, "")?;
            let from = self.server(&link, "from", topology)?;
            let to = self.server(&link, "to", topology)?;
            let (Some((from, _)), Some((to, to_at))) = (from, to) else {
                let absent = if link.has("from") { "to" } else { "from" };
                return Err(self.missing(&link, absent, "a link needs from, to and base_ms"));
            };
            if from == to {
                return Err(self.refuse(
                    &to_at,
                    &link.field("to"),
                    format!(
                        "a link joins two different {}s (from != to)",
                        noun(topology)
                    ),
                ));
            }
            let base = self.num(&link, "base_ms", Kind::Float)?.ok_or_else(|| {
                self.missing(&link, "base_ms", "a link needs from, to and base_ms")
            })?;
            self.check(
                &base,
                &link.field("base_ms"),
                base.v >= 0.0,
                "must be >= 0 ms",
            )?;
            net.links.push(LinkLatency {
                from,
                to,
                base: SimDuration::from_ms_f64(base.v),
            });
        }
        Ok(net)
    }

    fn disk(&mut self, t: &Tbl, duration: SimDuration) -> Res<DiskConfig> {
        self.check_keys(t, DISK_KEYS, "")?;
        let mut disk = DiskConfig::default();
        if let Some(ft) = self.table(t, "fsync")? {
            disk.fsync = self.latency(&ft, duration)?;
        }
        if let Some(n) = self.num(t, "throughput_mb_s", Kind::Float)? {
            self.check(
                &n,
                &t.field("throughput_mb_s"),
                n.v > 0.0 && n.v <= MAX_THROUGHPUT_MB_S,
                format!(
                    "MB (10^6 bytes) per second must be > 0 and <= {}",
                    fmt_num(MAX_THROUGHPUT_MB_S)
                ),
            )?;
            disk.throughput_bytes_per_s = Some(n.v * 1e6);
        }
        Ok(disk)
    }

    /// A 1-based node number, returned 0-based.
    fn server(&self, t: &Tbl, key: &str, topology: &Topology) -> Res<Option<(usize, Lit)>> {
        let Some((n, at)) = self.int(t, key)? else {
            return Ok(None);
        };
        let n = self.server_number(n, &at, &t.field(key), topology)?;
        Ok(Some((n, at)))
    }

    fn server_number(&self, n: i64, at: &Lit, field: &str, topology: &Topology) -> Res<usize> {
        let nodes = topology.servers();
        if n >= 1 && n as u64 <= nodes as u64 {
            Ok(n as usize - 1)
        } else {
            Err(self.refuse(at, field, numbers_text(topology)))
        }
    }

    /// A latency distribution; one whose median exceeds the trial's
    /// `duration` is legal but makes most of its waits outlast the trial,
    /// so it draws a warning.
    fn latency(&mut self, t: &Tbl, duration: SimDuration) -> Res<Latency> {
        let latency = self.latency_dist(t)?;
        let median = latency.median_ms();
        if SimDuration::from_ms_f64(median) > duration {
            self.warn(
                t.line,
                &t.path,
                format!(
                    "the median latency ({} ms) exceeds the trial's duration_ms ({}): most \
                     messages or fsyncs would not complete within a trial",
                    // 1e300 in full would be a line of 300 digits.
                    if median >= 1e12 {
                        format!("{median:e}")
                    } else {
                        fmt_num(median)
                    },
                    fmt_num(duration.as_ms_f64())
                ),
            );
        }
        Ok(latency)
    }

    fn latency_dist(&mut self, t: &Tbl) -> Res<Latency> {
        type Form = &'static [&'static str];
        const DISTS: &[(&str, &[Form])] = &[
            ("constant", &[&["ms"]]),
            ("uniform", &[&["min_ms", "max_ms"]]),
            ("exponential", &[&["mean_ms"]]),
            (
                "normal",
                &[&["mean_ms", "stddev_ms"], &["median_ms", "p99_ms"]],
            ),
            ("lognormal", &[&["mu", "sigma"], &["median_ms", "p99_ms"]]),
        ];
        let names = || DISTS.iter().map(|d| d.0).collect::<Vec<_>>().join(", ");
        let (dist, dist_at) = self
            .string(t, "dist")?
            .ok_or_else(|| self.missing(t, "dist", &format!("allowed: {}", names())))?;
        let Some(&(_, forms)) = DISTS.iter().find(|d| d.0 == dist) else {
            return Err(self.refuse(&dist_at, &t.field("dist"), format!("allowed: {}", names())));
        };

        let mut allowed = vec!["dist"];
        for f in forms {
            for k in f.iter() {
                if !allowed.contains(k) {
                    allowed.push(k);
                }
            }
        }
        self.check_keys(t, &allowed, &format!(" for dist = \"{dist}\""))?;

        let form_text = |f: Form| f.join(" and ");
        let needs = forms
            .iter()
            .map(|f| form_text(f))
            .collect::<Vec<_>>()
            .join(", or ");
        let given: Vec<usize> = (0..forms.len())
            .filter(|&i| forms[i].iter().any(|k| t.has(k)))
            .collect();
        let form = match given[..] {
            [] => {
                return Err(self.err(t.line, &t.path, format!("dist = \"{dist}\" needs {needs}")))
            }
            [i] => forms[i],
            [a, b, ..] => {
                // Name a key of the second form that is not also in the first.
                let k = forms[b]
                    .iter()
                    .find(|k| t.has(k) && !forms[a].contains(k))
                    .or_else(|| forms[a].iter().find(|k| t.has(k)))
                    .expect("form b was given");
                let (key, _) = t.get(k).expect("checked present");
                return Err(self.err(
                    self.key_line(key),
                    t.field(k),
                    format!(
                        "cannot be mixed with {}; dist = \"{dist}\" takes {needs}, not both",
                        form_text(forms[a])
                    ),
                ));
            }
        };
        if let Some(k) = form.iter().find(|k| !t.has(k)) {
            return Err(self.missing(t, k, &format!("dist = \"{dist}\" needs {needs}")));
        }

        let mut v = Vec::with_capacity(form.len());
        for k in form.iter() {
            v.push(self.num(t, k, Kind::Float)?.expect("checked present"));
        }
        let f = |k: &str| t.field(k);
        let at_least = |this: &Self, n: &Num, k: &str, min: f64| {
            this.check(n, &f(k), n.v >= min, format!("must be >= {}", fmt_num(min)))
        };
        let not_below = |this: &Self, n: &Num, k: &str, other: &Num, ok: &str| {
            this.check(
                n,
                &f(k),
                n.v >= other.v,
                format!("must be >= {ok} ({})", other.at.raw),
            )
        };
        Ok(match (dist.as_str(), form[0]) {
            ("constant", _) => {
                at_least(self, &v[0], "ms", 0.0)?;
                Latency::Constant { ms: v[0].v }
            }
            ("uniform", _) => {
                at_least(self, &v[0], "min_ms", 0.0)?;
                not_below(self, &v[1], "max_ms", &v[0], "min_ms")?;
                Latency::Uniform {
                    min_ms: v[0].v,
                    max_ms: v[1].v,
                }
            }
            ("exponential", _) => {
                self.check(&v[0], &f("mean_ms"), v[0].v > 0.0, "must be > 0")?;
                Latency::Exponential { mean_ms: v[0].v }
            }
            ("normal", "mean_ms") => {
                at_least(self, &v[0], "mean_ms", 0.0)?;
                at_least(self, &v[1], "stddev_ms", 0.0)?;
                Latency::Normal {
                    mean_ms: v[0].v,
                    stddev_ms: v[1].v,
                }
            }
            ("normal", _) => {
                at_least(self, &v[0], "median_ms", 0.0)?;
                not_below(self, &v[1], "p99_ms", &v[0], "median_ms")?;
                Latency::normal_from_median_p99(v[0].v, v[1].v)
            }
            ("lognormal", "mu") => {
                self.check(&v[0], &f("mu"), true, "must be a finite number")?;
                at_least(self, &v[1], "sigma", 0.0)?;
                Latency::LogNormal {
                    mu: v[0].v,
                    sigma: v[1].v,
                }
            }
            ("lognormal", _) => {
                self.check(&v[0], &f("median_ms"), v[0].v > 0.0, "must be > 0")?;
                not_below(self, &v[1], "p99_ms", &v[0], "median_ms")?;
                Latency::lognormal_from_median_p99(v[0].v, v[1].v)
            }
            _ => unreachable!("every dist of DISTS has an arm"),
        })
    }

    fn clients(&mut self, t: &Tbl, duration_ms: f64) -> Res<LoadConfig> {
        self.check_keys(t, CLIENT_KEYS, "")?;
        let mut load = LoadConfig::default();
        if let Some(n) = self.num(t, "count", Kind::Int)? {
            self.check(
                &n,
                &t.field("count"),
                (0.0..=MAX_CLIENTS).contains(&n.v),
                format!("must be in 0..={}", fmt_num(MAX_CLIENTS)),
            )?;
            load.clients = n.v as usize;
        }
        if let Some(n) = self.num(t, "concurrency", Kind::Int)? {
            self.check(
                &n,
                &t.field("concurrency"),
                (1.0..=MAX_CONCURRENCY).contains(&n.v),
                format!(
                    "operations a client keeps outstanding must be in 1..={}",
                    fmt_num(MAX_CONCURRENCY)
                ),
            )?;
            load.concurrency = Some(n.v as u32);
            // No rate with a limit: a pure closed loop.
            load.rate_per_s = 0.0;
        }
        if let Some(n) = self.num(t, "rate_per_s", Kind::Float)? {
            let closed = load.concurrency.is_some();
            self.check(
                &n,
                &t.field("rate_per_s"),
                (n.v > 0.0 || (closed && n.v == 0.0)) && n.v <= MAX_RATE_PER_S,
                format!(
                    "operations per second per client must be > 0 (or 0 with concurrency, a \
                     pure closed loop) and <= {}",
                    fmt_num(MAX_RATE_PER_S)
                ),
            )?;
            load.rate_per_s = n.v;
        }
        if let Some(n) = self.num(t, "read_ratio", Kind::Float)? {
            self.check(
                &n,
                &t.field("read_ratio"),
                (0.0..=1.0).contains(&n.v),
                "a fraction must be >= 0 and <= 1",
            )?;
            load.read_ratio = n.v;
        }
        if let Some(n) = self.num(t, "start_ms", Kind::Float)? {
            self.check(&n, &t.field("start_ms"), n.v >= 0.0, "must be >= 0 ms")?;
            load.start = SimDuration::from_ms_f64(n.v);
        }
        if let Some(n) = self.num(t, "warmup_ms", Kind::Float)? {
            self.check(
                &n,
                &t.field("warmup_ms"),
                n.v >= 0.0 && n.v < duration_ms,
                format!(
                    "must be >= 0 ms and < duration_ms ({})",
                    fmt_num(duration_ms)
                ),
            )?;
            load.warmup = SimDuration::from_ms_f64(n.v);
        }
        if let Some((a, at)) = self.string(t, "arrival")? {
            load.poisson = match a.as_str() {
                "constant" => false,
                "poisson" => true,
                _ => {
                    return Err(self.refuse(&at, &t.field("arrival"), "allowed: constant, poisson"))
                }
            };
        }
        Ok(load)
    }

    fn faults(
        &mut self,
        root: &Tbl,
        path: &PathInfo,
        topology: &Topology,
        duration_ms: f64,
    ) -> Res<Vec<FaultSpec>> {
        let mut faults = Vec::new();
        let end = SimDuration::from_ms_f64(duration_ms);
        for t in self.tables(root, "faults")? {
            let f = self.fault(&t, path, topology, duration_ms)?;
            // Times below duration_ms are checked as written; in whole
            // nanoseconds a fault can still land on the trial's last instant,
            // where nothing after it is simulated.
            let (first, key) = match f.when {
                When::At(a) => (a, "at_ms"),
                When::Window(a, _) => (a, "from_ms"),
            };
            if first >= end {
                let line = t
                    .get(key)
                    .map_or(t.line, |(k, item)| self.item_line(k, item));
                self.warn(
                    line,
                    t.field(key),
                    format!(
                        "the fault's earliest time ({} ns) is not before the end of the trial \
                         (duration_ms = {}, {} ns): nothing after the fault is simulated",
                        first.0,
                        fmt_num(duration_ms),
                        end.0
                    ),
                );
            }
            faults.push(f);
        }
        Ok(faults)
    }

    fn fault(
        &mut self,
        t: &Tbl,
        path: &PathInfo,
        topology: &Topology,
        duration_ms: f64,
    ) -> Res<FaultSpec> {
        self.check_keys(t, FAULT_KEYS, "")?;
        let kinds = FAULT_KINDS.join(", ");
        let (kind, kind_at) = self
            .string(t, "kind")?
            .ok_or_else(|| self.missing(t, "kind", &format!("allowed: {kinds}")))?;
        if !FAULT_KINDS.contains(&kind.as_str()) {
            return Err(self.refuse(&kind_at, &t.field("kind"), format!("allowed: {kinds}")));
        }
        let kind = kind.as_str();
        // Keys that only some kinds take.
        let only_for: [(&str, &[&str]); 4] = [
            ("duration_ms", &["crash", "pause", "isolate", "partition"]),
            ("host_alive", &["crash"]),
            ("groups", &["partition"]),
            ("one_way", &["partition"]),
        ];
        for (key, kinds) in only_for {
            if let Some((k, _)) = t.get(key) {
                if !kinds.contains(&kind) {
                    return Err(self.err(
                        self.key_line(k),
                        t.field(key),
                        format!(
                            "not allowed for kind = \"{kind}\"; only {} take {key}",
                            kinds.join(", ")
                        ),
                    ));
                }
            }
        }

        let targeted = !matches!(kind, "partition" | "heal");
        let target = match t.get("target") {
            None if targeted => {
                return Err(self.missing(
                    t,
                    "target",
                    &format!(
                        "kind = \"{kind}\" needs one of {} or {}",
                        path.target_words().join(", "),
                        number_phrase(topology)
                    ),
                ))
            }
            None => Target::Random,
            Some((k, _)) if !targeted => {
                return Err(self.err(
                    self.key_line(k),
                    t.field("target"),
                    format!(
                        "not allowed for kind = \"{kind}\": it names no single {}{}",
                        noun(topology),
                        if kind == "partition" {
                            "; use groups"
                        } else {
                            ""
                        }
                    ),
                ))
            }
            Some((k, item)) => self.target(&t.field("target"), k, item, path, topology)?,
        };

        let when = self.when(t, duration_ms)?;

        let duration = match self.num(t, "duration_ms", Kind::Float)? {
            None => None,
            Some(d) => {
                self.check(
                    &d,
                    &t.field("duration_ms"),
                    d.v > 0.0,
                    "must be > 0 ms (leave it out to never undo the fault)",
                )?;
                Some(SimDuration::from_ms_f64(d.v))
            }
        };

        let action = match kind {
            "crash" => Action::Crash {
                host_alive: self.boolean(t, "host_alive")?.unwrap_or(false),
            },
            "restart" => Action::Restart,
            "pause" => Action::Pause,
            "resume" => Action::Resume,
            "isolate" => Action::Isolate,
            "partition" => Action::Partition {
                groups: self.groups(t, topology)?,
                one_way: self.boolean(t, "one_way")?.unwrap_or(false),
            },
            "heal" => Action::Heal,
            _ => unreachable!("kind was checked against FAULT_KINDS"),
        };
        Ok(FaultSpec {
            when,
            action,
            target,
            duration,
        })
    }

    fn target(
        &self,
        field: &str,
        key: &Key,
        item: &Item,
        path: &PathInfo,
        topology: &Topology,
    ) -> Res<Target> {
        let words = path.target_words().join(", ");
        let allowed = format!("allowed: {words} or {}", number_phrase(topology));
        match item {
            Item::Value(v @ Value::String(s)) => {
                self.target_word(s.value(), &self.lit(v, 1), field, path, topology, &allowed)
            }
            Item::Value(v @ Value::Integer(i)) => {
                let n = self.server_number(*i.value(), &self.lit(v, 1), field, topology)?;
                Ok(Target::Node(n))
            }
            Item::Value(v @ Value::Array(_)) => Err(self.refuse(
                &self.lit(v, 1),
                field,
                format!("cannot be swept; {allowed}"),
            )),
            _ => Err(self.wrong_type(
                field,
                key,
                item,
                &format!("a string ({words}) or a {} number", noun(topology)),
            )),
        }
    }

    /// A target written as a word: an engine word, a group word (`sentinel`,
    /// or `sentinel:2` for that group's second node), or a word of the path
    /// (`master`, `partition-leader:7`). Words are matched exactly.
    fn target_word(
        &self,
        word: &str,
        at: &Lit,
        field: &str,
        path: &PathInfo,
        topology: &Topology,
        allowed: &str,
    ) -> Res<Target> {
        match word {
            "leader" => return Ok(Target::Leader),
            "follower" => return Ok(Target::Follower),
            "random" => return Ok(Target::Random),
            "last" => return Ok(Target::LastFaulted),
            _ => {}
        }
        if let Some(g) = path.groups.iter().position(|g| g.word == word) {
            return Ok(Target::Group(g));
        }
        if let Some(t) = path.targets.iter().find(|t| t.word == word) {
            return Ok(Target::Path {
                word: t.word,
                arg: None,
            });
        }
        let Some((head, number)) = word.split_once(':') else {
            return Err(self.refuse(at, field, allowed));
        };
        // Only ASCII digits make a number: `from_str` would also take a
        // leading `+`, which no documented form has.
        let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
        if let Some(g) = path.groups.iter().position(|g| g.word == head) {
            let (name, size) = topology.groups[g];
            let why = if size == 0 {
                format!("{head}:N names a node of {name}, and this topology has no {name}")
            } else {
                format!("{head}:N needs N in 1..={size} ({name} has {size} nodes)")
            };
            return match number.parse::<usize>() {
                Ok(n) if digits && (1..=size).contains(&n) => {
                    Ok(Target::Node(topology.range(g).start + n - 1))
                }
                _ => Err(self.refuse(at, field, why)),
            };
        }
        if let Some(t) = path.targets.iter().find(|t| t.word == head) {
            if !t.takes_number {
                return Err(self.refuse(
                    at,
                    field,
                    format!("{head} takes no number; write \"{head}\""),
                ));
            }
            return match number.parse::<u32>() {
                Ok(n) if digits => Ok(Target::Path {
                    word: t.word,
                    arg: Some(n),
                }),
                _ => Err(self.refuse(
                    at,
                    field,
                    format!("{head}:N needs a whole number N in 0..={}", u32::MAX),
                )),
            };
        }
        Err(self.refuse(at, field, allowed))
    }

    fn when(&mut self, t: &Tbl, duration_ms: f64) -> Res<When> {
        let forms = "give at_ms, or from_ms and to_ms";
        let window = ["from_ms", "to_ms"];
        if t.has("at_ms") {
            if let Some(k) = window.iter().find(|k| t.has(k)) {
                let (key, _) = t.get(k).expect("checked present");
                return Err(self.err(
                    self.key_line(key),
                    t.field(k),
                    format!("cannot be given with at_ms; {forms}, not both"),
                ));
            }
        } else if !window.iter().any(|k| t.has(k)) {
            return Err(self.err(t.line, &t.path, format!("the fault needs a time: {forms}")));
        } else if let Some(k) = window.iter().find(|k| !t.has(k)) {
            return Err(self.missing(t, k, "a window needs both from_ms and to_ms"));
        }

        let in_trial = |this: &Self, n: &Num, k: &str| {
            this.check(
                n,
                &t.field(k),
                n.v >= 0.0 && n.v < duration_ms,
                format!("must be >= 0 and < duration_ms ({})", fmt_num(duration_ms)),
            )
        };
        if let Some(at) = self.num(t, "at_ms", Kind::Float)? {
            in_trial(self, &at, "at_ms")?;
            return Ok(When::At(SimDuration::from_ms_f64(at.v)));
        }
        let from = self
            .num(t, "from_ms", Kind::Float)?
            .expect("checked present");
        let to = self.num(t, "to_ms", Kind::Float)?.expect("checked present");
        in_trial(self, &from, "from_ms")?;
        in_trial(self, &to, "to_ms")?;
        self.check(
            &to,
            &t.field("to_ms"),
            to.v >= from.v,
            format!("must be >= from_ms ({})", from.at.raw),
        )?;
        Ok(When::Window(
            SimDuration::from_ms_f64(from.v),
            SimDuration::from_ms_f64(to.v),
        ))
    }

    fn groups(&self, t: &Tbl, topology: &Topology) -> Res<Vec<Vec<usize>>> {
        let field = t.field("groups");
        let noun = noun(topology);
        let shape = format!("give at least two lists of {noun} numbers, e.g. [[1], [2, 3]]");
        let (key, item) = t.get("groups").ok_or_else(|| {
            self.missing(t, "groups", &format!("a partition needs groups: {shape}"))
        })?;
        let line = self.item_line(key, item);
        let Item::Value(v @ Value::Array(outer)) = item else {
            return Err(self.wrong_type(
                &field,
                key,
                item,
                &format!("an array of arrays of {noun} numbers"),
            ));
        };
        if outer.len() < 2 {
            return Err(self.refuse(&self.lit(v, line), &field, &shape));
        }
        let mut owner: Vec<Option<usize>> = vec![None; topology.servers()];
        let mut groups = Vec::with_capacity(outer.len());
        for (gi, g) in outer.iter().enumerate() {
            let Value::Array(members) = g else {
                return Err(self.err(
                    self.span_line(g.span(), line),
                    &field,
                    format!(
                        "expected an array of {noun} numbers, found {}",
                        self.describe_value(g)
                    ),
                ));
            };
            if members.is_empty() {
                return Err(self.refuse(
                    &self.lit(g, line),
                    &field,
                    format!("a group needs at least one {noun}"),
                ));
            }
            let mut group = Vec::with_capacity(members.len());
            for m in members.iter() {
                let Value::Integer(i) = m else {
                    return Err(self.err(
                        self.span_line(m.span(), line),
                        &field,
                        format!("expected a {noun} number, found {}", self.describe_value(m)),
                    ));
                };
                let at = self.lit(m, line);
                let n = self.server_number(*i.value(), &at, &field, topology)?;
                if let Some(prev) = owner[n] {
                    let why = if prev == gi {
                        format!("{noun} {} appears twice in group {}", n + 1, gi + 1)
                    } else {
                        format!(
                            "{noun} {} is already in group {}; a {noun} may be in one group only",
                            n + 1,
                            prev + 1
                        )
                    };
                    return Err(self.refuse(&at, &field, why));
                }
                owner[n] = Some(gi);
                group.push(n);
            }
            groups.push(group);
        }
        Ok(groups)
    }

    fn params(
        &mut self,
        t: &Tbl,
        path: &'static PathInfo,
        sizes: &[usize],
        params: &mut Params,
    ) -> Res<()> {
        let mut seen = Vec::new();
        self.params_in(t, "", path, sizes, params, &mut seen)
    }

    /// Read the parameters of `t`, flattening dotted keys and sub-tables into
    /// dotted names, so `a.b = 1`, `"a.b" = 1` and `[params.a] b = 1` agree.
    /// `sizes` is the topology, which per-node lists must match.
    fn params_in(
        &mut self,
        t: &Tbl,
        prefix: &str,
        path: &'static PathInfo,
        sizes: &[usize],
        params: &mut Params,
        seen: &mut Vec<String>,
    ) -> Res<()> {
        for (key, item) in t.entries() {
            let name = format!("{prefix}{}", key.get());
            let field = t.field(key.get());
            let sub = matches!(item, Item::Table(_) | Item::Value(Value::InlineTable(_)));
            if sub
                && path
                    .params
                    .iter()
                    .any(|p| p.name.starts_with(&format!("{name}.")))
            {
                let sub = self.as_table(&field, key, item)?;
                self.params_in(&sub, &format!("{name}."), path, sizes, params, seen)?;
                continue;
            }
            let line = self.key_line(key);
            let column = format!("params.{name}");
            let spec = params
                .spec(&name)
                .map_err(|why| self.err(line, &column, why))?;
            if seen.contains(&name) {
                return Err(self.err(line, &column, "given twice"));
            }
            seen.push(name.clone());
            let (value, at) = self.param_value(&column, key, item, spec)?;
            params
                .set_value(&name, &value, sizes)
                .map_err(|why| self.refuse(&at, &column, why))?;
        }
        Ok(())
    }

    /// The value of parameter `spec` as written, and where: a number, a bool
    /// or a word, each of which may be a sweep list, or a per-node list, which
    /// is one value. Ranges and list lengths are checked by the caller, per
    /// point, since a per-node list must match its group's size there.
    fn param_value(
        &mut self,
        field: &str,
        key: &Key,
        item: &Item,
        spec: &'static ParamSpec,
    ) -> Res<(ParamValue, Lit)> {
        match spec.kind {
            ParamKind::Int { .. } | ParamKind::Float { .. } => {
                let n = self.num_item(field, key, item, Kind::Float)?;
                Ok((ParamValue::Float(n.v), n.at))
            }
            ParamKind::Bool => {
                let e = self.sweep_item(field, key, item, Kind::Bool, &spec.allowed())?;
                match e.v {
                    Scalar::Bool(b) => Ok((ParamValue::Bool(b), e.at)),
                    other => unreachable!("a bool field read {other:?}"),
                }
            }
            ParamKind::Enum(words) => {
                let e = self.sweep_item(field, key, item, Kind::Str, &spec.allowed())?;
                let Scalar::Str(word) = &e.v else {
                    unreachable!("a string field read {:?}", e.v)
                };
                // The value holds the spec's own `'static` word, not the file's.
                match words.iter().find(|w| **w == word.as_str()) {
                    Some(w) => Ok((ParamValue::Enum(w), e.at)),
                    None => Err(self.refuse(&e.at, field, format!("must be {}", spec.allowed()))),
                }
            }
            ParamKind::PerNode { min, max, .. } => self.per_node(field, key, item, spec, min, max),
        }
    }

    /// A per-node list: one whole number in `min..=max` per node, checked
    /// element by element so a bad element is reported at its own line.
    fn per_node(
        &self,
        field: &str,
        key: &Key,
        item: &Item,
        spec: &ParamSpec,
        min: i64,
        max: i64,
    ) -> Res<(ParamValue, Lit)> {
        let allowed = spec.allowed();
        let Item::Value(v @ Value::Array(list)) = item else {
            return Err(self.wrong_type(field, key, item, &allowed));
        };
        let line = self.item_line(key, item);
        let whole = self.lit(v, line);
        // A list of lists would be a sweep of per-node lists; axis values and
        // result columns hold one number or word, so it is refused for now.
        if list.iter().any(|e| matches!(e, Value::Array(_))) {
            return Err(self.refuse(
                &whole,
                field,
                format!("per-node lists cannot be swept yet; give {allowed}"),
            ));
        }
        let range = format!("each value must be in {min}..={max} {}", spec.unit);
        let mut values = Vec::with_capacity(list.len());
        for e in list.iter() {
            match e {
                Value::Integer(i) if (min..=max).contains(i.value()) => values.push(*i.value()),
                Value::Integer(_) => {
                    return Err(self.refuse(&self.lit(e, line), field, range.trim_end()))
                }
                _ => {
                    return Err(self.err(
                        self.span_line(e.span(), line),
                        field,
                        format!(
                            "expected a whole number in the per-node list, found {}",
                            self.describe_value(e)
                        ),
                    ))
                }
            }
        }
        Ok((ParamValue::PerNode(values), whole))
    }

    /// Number of sweep points; refuses products above [`MAX_POINTS`].
    fn point_count(&self) -> Res<usize> {
        let mut total: usize = 1;
        for s in &self.sweeps {
            total = total.saturating_mul(s.elems.len());
            if total > MAX_POINTS {
                let sizes = self
                    .sweeps
                    .iter()
                    .map(|s| format!("{} ({})", s.column, s.elems.len()))
                    .collect::<Vec<_>>()
                    .join(" x ");
                return Err(self.err(
                    s.line,
                    &s.column,
                    format!(
                        "the sweep has more than {MAX_POINTS} points: {sizes}; sweep fewer \
                         values"
                    ),
                ));
            }
        }
        Ok(total)
    }
}

/// What a node number in a file counts: `server` on paths of one node group
/// (the words the schema had before paths had several groups), `node` on
/// paths with several, where numbers run across the groups.
fn noun(topology: &Topology) -> &'static str {
    if topology.groups.len() == 1 {
        "server"
    } else {
        "node"
    }
}

/// Which numbers belong to which group: `servers 1..=5, sentinels 6..=8`.
fn group_ranges(topology: &Topology) -> String {
    (0..topology.groups.len())
        .map(|g| {
            let r = topology.range(g);
            let name = topology.groups[g].0;
            if r.is_empty() {
                format!("no {name}")
            } else {
                format!("{name} {}..={}", r.start + 1, r.end)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule for node numbers, for a refused number.
fn numbers_text(topology: &Topology) -> String {
    let n = topology.servers();
    if topology.groups.len() == 1 {
        format!("server numbers are 1..={n} (nodes = {n})")
    } else {
        format!("node numbers are 1..={n}: {}", group_ranges(topology))
    }
}

/// The node numbers a field may hold: `a server number 1..=3`, or `a node
/// number 1..=8 (servers 1..=5, sentinels 6..=8)`.
fn number_phrase(topology: &Topology) -> String {
    let n = topology.servers();
    if topology.groups.len() == 1 {
        format!("a server number 1..={n}")
    } else {
        format!("a node number 1..={n} ({})", group_ranges(topology))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
