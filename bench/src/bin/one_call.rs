//! The one-call floor: the least work a warm `GET /sensor-key` could physically be. A std-only
//! loop (no async runtime, no HTTP library, no JSON parser) that takes each event from the Lambda
//! Runtime API, makes the same one Graph call the function makes (`GET …/getDeploymentAccessKey`
//! with a bearer token, over a kept-alive connection), and posts the key back in the response
//! shape the function's HTTP answers have. Counted with callgrind beside the bootstrap and the
//! framework floor, it bounds from below what any implementation could cost per request.
//!
//! Its configuration comes from the benchmark: `AWS_LAMBDA_RUNTIME_API` as Lambda sets it,
//! `ONE_CALL_GRAPH` (`host:port` of the simulator), `ONE_CALL_PATH` (the key endpoint's path) and
//! `ONE_CALL_BEARER` (a token the simulator issued). It reads no event content: it answers every
//! event with the key, which is all the benchmark sends it.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("one-call floor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn serve() -> Result<(), String> {
    let runtime_api = env("AWS_LAMBDA_RUNTIME_API")?;
    let graph_host = env("ONE_CALL_GRAPH")?;
    let key_path = env("ONE_CALL_PATH")?;
    let bearer = env("ONE_CALL_BEARER")?;
    let mut runtime = Connection::open(&runtime_api)?;
    let mut graph = Connection::open(&graph_host)?;
    let next = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {runtime_api}\r\n\r\n");
    let key_request = format!(
        "GET {key_path} HTTP/1.1\r\nHost: {graph_host}\r\nAuthorization: Bearer {bearer}\r\nAccept: application/json\r\n\r\n"
    );
    loop {
        let event = runtime.exchange(next.as_bytes())?;
        let request_id = event
            .request_id
            .ok_or("the Runtime API sent no Lambda-Runtime-Aws-Request-Id")?;
        let answer = graph.exchange(key_request.as_bytes())?;
        let key = key_of(&answer.body).ok_or("Graph's answer holds no key")?;
        let body = format!(
            r#"{{"statusCode":200,"headers":{{"content-type":"application/json"}},"body":"{{\"sensorDeploymentAccessKey\":\"{key}\"}}"}}"#
        );
        let response = format!(
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {runtime_api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        runtime.exchange(response.as_bytes())?;
    }
}

/// The key in Graph's answer, found as text: `"…AccessKey":"<key>"` (a key is base64, so it holds
/// no quote or backslash).
fn key_of(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("AccessKey\":\"")? + "AccessKey\":\"".len();
    let end = start + text[start..].find('"')?;
    Some(&text[start..end])
}

/// One HTTP/1.1 connection, kept alive.
struct Connection {
    reader: BufReader<TcpStream>,
}

/// What an exchange yields: the body, and the request id header when there was one.
struct Answer {
    body: Vec<u8>,
    request_id: Option<String>,
}

impl Connection {
    fn open(address: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    /// Sends `request` and reads the whole answer (`Content-Length` or chunked).
    fn exchange(&mut self, request: &[u8]) -> Result<Answer, String> {
        let io = |e: std::io::Error| e.to_string();
        self.reader.get_mut().write_all(request).map_err(io)?;
        let mut line = String::new();
        let mut content_length = None;
        let mut chunked = false;
        let mut request_id = None;
        let mut status_line = true;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).map_err(io)? == 0 {
                return Err("the connection closed".into());
            }
            let header = line.trim_end();
            if status_line {
                status_line = false;
                if !header.starts_with("HTTP/1.1 2") {
                    return Err(format!("answered {header:?}"));
                }
                continue;
            }
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                request_id = Some(value.to_owned());
            }
        }
        let body = match (chunked, content_length) {
            (true, _) => self.chunked_body()?,
            (false, Some(length)) => {
                let mut body = vec![0; length];
                self.reader.read_exact(&mut body).map_err(io)?;
                body
            }
            (false, None) => Vec::new(),
        };
        Ok(Answer { body, request_id })
    }

    fn chunked_body(&mut self) -> Result<Vec<u8>, String> {
        let io = |e: std::io::Error| e.to_string();
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).map_err(io)?;
            let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..]).map_err(io)?;
            line.clear();
            self.reader.read_line(&mut line).map_err(io)?;
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_found_in_graphs_answer_or_not_at_all() {
        let wrapped = br#"{"value":{"@odata.type":"x","sensorDeploymentAccessKey":"a2V5"}}"#;
        assert_eq!(key_of(wrapped), Some("a2V5"));
        assert_eq!(key_of(br#"{"deploymentAccessKey":"b"}"#), Some("b"));
        assert_eq!(key_of(b"{}"), None);
    }
}
