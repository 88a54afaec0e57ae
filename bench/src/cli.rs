//! Command-line options.

use std::path::PathBuf;

pub const USAGE: &str = "\
usage: bench [options]
  --cold N              cold starts per subject (default 20, at least 1)
  --warm N              warm GETs per subject, spread over the cold starts (default 500)
  --upstream-samples N  direct calls timing each upstream endpoint itself (default 500)
  --bootstrap PATH      measure this bootstrap instead of building the workspace's
  --floor PATH          use this floor instead of building it
  --one-call PATH       use this one-call floor instead of building it
  --graph-sim PATH      use this graph-sim instead of building it
  --out PATH            results JSON (default target/bench/results.json; .md written beside it)
  --env NAME=VALUE      extra environment for the bootstrap (repeatable; for experiments)
  --label TEXT          a name for this run, recorded in the results
  --strict              exit 1 when a budget fails (default: report only, exit 0)
  --callgrind-base N    warm GETs of the smaller callgrind run (default 50; the larger has N+200)
  --no-callgrind        skip the instruction counts (no valgrind needed)
  --profile             also build the bootstrap and the floor with the `profiling` profile (line
                        tables, symbols) and write each one's instructions per warm GET by function
                        to profile.md beside the results";

#[derive(Debug)]
pub struct Options {
    pub cold_starts: usize,
    pub warm_requests: usize,
    pub upstream_samples: usize,
    pub bootstrap: Option<PathBuf>,
    pub floor: Option<PathBuf>,
    pub one_call: Option<PathBuf>,
    pub graph_sim: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub label: Option<String>,
    /// Extra environment for the bootstrap, on top of the world's.
    pub env: Vec<(String, String)>,
    pub strict: bool,
    /// Count instructions per warm GET with callgrind.
    pub callgrind: bool,
    /// Warm GETs of the smaller callgrind run.
    pub callgrind_base: usize,
    /// Write a per-function profile of a warm GET.
    pub profile: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cold_starts: 20,
            warm_requests: 500,
            upstream_samples: 500,
            bootstrap: None,
            floor: None,
            one_call: None,
            graph_sim: None,
            out: None,
            label: None,
            env: Vec::new(),
            strict: false,
            callgrind: true,
            callgrind_base: 50,
            profile: false,
        }
    }
}

/// Parses the arguments after the program name; `Ok(None)` asks for the usage text.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--strict" => options.strict = true,
            "--cold" => options.cold_starts = number(&arg, &value()?)?.max(1),
            "--warm" => options.warm_requests = number(&arg, &value()?)?,
            "--upstream-samples" => options.upstream_samples = number(&arg, &value()?)?.max(1),
            "--bootstrap" => options.bootstrap = Some(value()?.into()),
            "--floor" => options.floor = Some(value()?.into()),
            "--one-call" => options.one_call = Some(value()?.into()),
            "--no-callgrind" => options.callgrind = false,
            "--callgrind-base" => options.callgrind_base = number(&arg, &value()?)?,
            "--profile" => options.profile = true,
            "--graph-sim" => options.graph_sim = Some(value()?.into()),
            "--out" => options.out = Some(value()?.into()),
            "--label" => options.label = Some(value()?),
            "--env" => {
                let pair = value()?;
                let (name, val) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--env: {pair:?} is not NAME=VALUE"))?;
                options.env.push((name.to_owned(), val.to_owned()));
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(options))
}

fn number(flag: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, String> {
        parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn defaults_meet_the_issue_minimums() {
        let options = parse_args(&[]).unwrap().unwrap();
        assert_eq!((options.cold_starts, options.warm_requests), (20, 500));
        assert!(!options.strict);
        assert!(options.callgrind && !options.profile);
    }

    #[test]
    fn flags_and_errors() {
        let options = parse_args(&["--cold", "3", "--strict", "--label", "x"])
            .unwrap()
            .unwrap();
        assert_eq!(options.cold_starts, 3);
        assert!(options.strict);
        assert_eq!(options.label.as_deref(), Some("x"));
        assert!(parse_args(&["--help"]).unwrap().is_none());
        assert!(parse_args(&["--cold"]).is_err());
        assert!(parse_args(&["--cold", "many"]).is_err());
        assert!(parse_args(&["--bogus"]).is_err());
        let options = parse_args(&["--no-callgrind", "--callgrind-base", "10", "--profile"])
            .unwrap()
            .unwrap();
        assert!(!options.callgrind && options.profile);
        assert_eq!(options.callgrind_base, 10);
    }
}
