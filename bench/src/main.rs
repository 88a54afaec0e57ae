//! `cargo run --release -p bench` (or `scripts/bench`): runs the release bootstrap as Lambda
//! does, a fresh process per cold start under a local Runtime API, against graph-sim and moto
//! on loopback, once with a credentials secret and once with `GRAPH_AUTH=aws-federation` (STS
//! and the issuer at the simulator), next to a floor function under the same harness; prints a
//! table, writes it as JSON and Markdown, and checks the budgets. Exits 0 whatever the budgets
//! say, unless `--strict`; 2 when the benchmark itself cannot run.
#![forbid(unsafe_code)]

mod artifacts;
mod budgets;
mod callgrind;
mod calls;
mod cli;
mod function;
mod http;
mod instructions;
mod machine;
mod measured;
mod moto;
mod package;
mod profile;
mod proxy;
mod report;
mod results;
mod runtime_api;
mod scenario;
mod sim;
mod stats;
mod table;
mod upstreams;
mod world;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;

use crate::cli::Options;
use crate::measured::{Above, CallsByRequest, Measured};
use crate::results::{Federation, Results, Settings};
use crate::scenario::{Events, Samples, Subject};
use crate::world::World;

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench: {message}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let outcome = Binaries::get(&options).and_then(|binaries| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio: {e}"))?
            .block_on(run(&options, &binaries))
    });
    match outcome {
        Ok(results) if options.strict && results.budgets.iter().any(|check| !check.pass) => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

struct Binaries {
    bootstrap: PathBuf,
    floor: PathBuf,
    one_call: PathBuf,
    graph_sim: PathBuf,
}

impl Binaries {
    /// The given paths, else fresh release builds.
    fn get(options: &Options) -> Result<Self, String> {
        // Absolute: a function runs with its own directory as the working directory, where a
        // relative path would no longer lead to it.
        let pick = |given: &Option<PathBuf>, package, bin| match given {
            Some(path) => path.canonicalize().map_err(|e| format!("{}: {e}", path.display())),
            None => artifacts::build(workspace(), package, bin, "release"),
        };
        Ok(Binaries {
            bootstrap: pick(&options.bootstrap, "mdi-sensor-key", "bootstrap")?,
            floor: pick(&options.floor, "bench", "floor")?,
            one_call: pick(&options.one_call, "bench", "one-call")?,
            graph_sim: pick(&options.graph_sim, "graph-sim", "graph-sim")?,
        })
    }
}

fn read_event(name: &str) -> Result<Bytes, String> {
    let path = workspace().join("events").join(name);
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|e| format!("{}: {e}", path.display()))
}

async fn run(options: &Options, binaries: &Binaries) -> Result<Results, String> {
    let out = options.out.clone().unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
        target.join("bench/results.json")
    });
    let out_dir = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    // Absolute, as the binaries are: callgrind writes here from the function's own directory.
    let out_dir = out_dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let bootstrap_package = package::measure(&binaries.bootstrap, &out_dir.join("bootstrap.zip"))?;
    let floor_package = package::measure(&binaries.floor, &out_dir.join("floor.zip"))?;

    let world = World::start(workspace(), &binaries.graph_sim).await?;
    let events = Events {
        get_key: read_event("get-key.json")?,
        regenerate: read_event("regenerate.json")?,
    };
    let env = world.function_env();
    let bootstrap = Subject {
        name: "bootstrap",
        binary: binaries.bootstrap.clone(),
        env: env.iter().chain(&options.env).cloned().collect(),
        regenerates: true,
        answers_the_key: true,
    };
    let federation = Subject {
        name: "federation",
        binary: binaries.bootstrap.clone(),
        env: world.federation_env().iter().chain(&options.env).cloned().collect(),
        regenerates: false,
        answers_the_key: true,
    };
    let floor = Subject {
        name: "floor",
        binary: binaries.floor.clone(),
        env,
        regenerates: false,
        answers_the_key: false,
    };
    let (mut bootstrap_samples, mut federation_samples, mut floor_samples) =
        (Samples::default(), Samples::default(), Samples::default());
    let counters = world.counters();
    let cold = options.cold_starts;
    for round in 0..cold {
        let warm = options.warm_requests / cold + usize::from(round < options.warm_requests % cold);
        eprintln!("bench: cold start {}/{cold} ({warm} warm GETs each)", round + 1);
        // Rotate which subject goes first, so none always runs on a quieter machine.
        let mut order = [
            (&floor, &mut floor_samples),
            (&bootstrap, &mut bootstrap_samples),
            (&federation, &mut federation_samples),
        ];
        order.rotate_left(round % 3);
        for (subject, samples) in order {
            if let Err(failure) = scenario::cold_start(subject, &events, &counters, warm, samples).await {
                eprintln!("bench: {failure}");
                samples.failures.push(failure);
            }
        }
    }
    eprintln!(
        "bench: timing the upstreams themselves ({} calls each)",
        options.upstream_samples
    );
    let upstreams = upstreams::measure(&world, options.upstream_samples).await?;
    let instructions = match options.callgrind {
        true => Some(
            count_instructions(
                options,
                binaries,
                &world,
                &events.get_key,
                (&bootstrap, &floor),
                &out_dir,
            )
            .await,
        ),
        false => None,
    };

    let bootstrap = Measured::new(
        binaries.bootstrap.display().to_string(),
        bootstrap_package,
        &bootstrap_samples,
    );
    let federation = Measured::new(
        binaries.bootstrap.display().to_string(),
        bootstrap.package.clone(),
        &federation_samples,
    );
    let floor = Measured::new(binaries.floor.display().to_string(), floor_package, &floor_samples);
    let above = Above::of(&bootstrap.warm_get, &upstreams.graph_get_key);
    let federation = Federation {
        warm_get_above_simulator: Above::of(&federation.warm_get, &upstreams.graph_get_key),
        first_request_above_upstreams_p50_ms: federation.first_request.p50_ms - upstreams.federation_cold_path_p50_ms(),
        ratios_to_floor: measured::ratios(&federation, &floor),
        measured: federation,
    };
    let calls = CallsByRequest::new(&bootstrap_samples, &federation_samples, &floor_samples);
    let first_request_above_upstreams_p50_ms = bootstrap.first_request.p50_ms - upstreams.cold_path_p50_ms();
    let results = Results {
        label: options.label.clone(),
        machine: machine::Machine::describe(),
        settings: Settings {
            cold_starts: cold,
            warm_requests: options.warm_requests,
            upstream_samples: options.upstream_samples,
            extra_env: options.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        },
        ratios_to_floor: measured::ratios(&bootstrap, &floor),
        budgets: budgets::evaluate(
            &bootstrap,
            &federation.measured,
            &floor,
            (&above, &federation.warm_get_above_simulator),
            &calls,
            instructions.as_ref(),
        ),
        federation,
        bootstrap,
        floor,
        upstreams,
        warm_get_above_simulator: above,
        first_request_above_upstreams_p50_ms,
        calls,
        instructions: instructions.as_ref().and_then(|counted| counted.as_ref().ok()).cloned(),
    };
    print!("\n{}", report::text(&results));
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(&out, json + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    let markdown_path = out.with_extension("md");
    std::fs::write(&markdown_path, report::markdown(&results))
        .map_err(|e| format!("{}: {e}", markdown_path.display()))?;
    println!("\nbench: wrote {} and {}", out.display(), markdown_path.display());
    Ok(results)
}

/// Instructions per warm GET of the bootstrap, the framework floor and the one-call floor, counted
/// with callgrind on the release binaries; with `--profile`, also the per-function profile of the
/// bootstrap and the floor built with the profiling profile. An error is reported, not fatal: the
/// wall-clock figures still stand, and the instruction budget fails.
async fn count_instructions(
    options: &Options,
    binaries: &Binaries,
    world: &World,
    event: &Bytes,
    (bootstrap, floor): (&Subject, &Subject),
    out_dir: &Path,
) -> Result<instructions::Instructions, String> {
    let counted = async {
        let valgrind = instructions::valgrind_version()?;
        let (_, key) = world.counters().snapshot().await?;
        let one_call = Subject {
            name: "one-call",
            binary: binaries.one_call.clone(),
            env: world.one_call_env().await?,
            regenerates: false,
            answers_the_key: true,
        };
        let base = options.callgrind_base;
        let mut counts = Vec::new();
        for (subject, key) in [
            (bootstrap, Some(key.as_str())),
            (floor, None),
            (&one_call, Some(key.as_str())),
        ] {
            eprintln!(
                "bench: callgrind: {} ({base} and {} warm GETs)",
                subject.name,
                base + instructions::STEP
            );
            counts.push(instructions::count(subject, event, key, base, out_dir).await?);
        }
        let mut counts = counts.into_iter().map(|runs| runs.per_warm_get);
        let mut next = || counts.next().ok_or("missing count");
        let counted = instructions::Instructions {
            valgrind,
            bootstrap: next()?,
            framework_floor: next()?,
            one_call_floor: next()?,
        };
        if options.profile {
            let path = out_dir.join("profile.md");
            let text = profile::write(workspace(), bootstrap, floor, event, &key, base, out_dir).await?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("bench: wrote {}", path.display());
        }
        Ok::<_, String>(counted)
    }
    .await;
    if let Err(error) = &counted {
        eprintln!("bench: callgrind: {error}");
    }
    counted
}
