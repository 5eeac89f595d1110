//! Blobs from registries handed over in a fixed order (`oci::ordered`):
//! against a real registry, every blob in order whatever its size, with
//! little read-ahead memory, and tampered content refused at the end of
//! its blob; against a fake one, a stream that breaks is resumed where it
//! stopped (with a range, or by skipping when ranges are ignored) and a
//! resumed stream whose bytes differ is refused.

use oci::copy::RetryPolicy;
use progress::NoProgress;
use oci::ordered::{self, InOrder, Options, READ_AHEAD};
use oci::remote::{RemoteOptions, Repository};
use oci::testsuite::{bytes, describe};
use oci::{BlobCopyError, Descriptor, Error, ImageRef, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testbed::Registry;

fn retry() -> RetryPolicy {
    RetryPolicy { attempts: 3, initial: Duration::from_millis(20), max: Duration::from_millis(100) }
}

fn repo(host: &str, name: &str) -> Repository {
    let o = RemoteOptions { insecure_hosts: vec![host.to_string()], retry: retry(), ..RemoteOptions::default() };
    let r: ImageRef = format!("{host}/{name}").parse().unwrap();
    Repository::open(&r, &o).unwrap()
}

/// Run the fetch and read every blob in order on a blocking thread, as an
/// archive writer does: each blob's bytes, or the error its reader gave.
async fn read_in_order(blobs: Vec<(Repository, Descriptor)>, options: Options) -> Vec<Result<Vec<u8>, std::io::Error>> {
    let count = blobs.len();
    let (in_order, feed) = ordered::fetch(blobs, options, Arc::new(NoProgress));
    let feeding = tokio::spawn(feed);
    let read = tokio::task::spawn_blocking(move || read_all(in_order, count)).await.unwrap();
    feeding.await.unwrap();
    read
}

fn read_all(mut in_order: InOrder, count: usize) -> Vec<Result<Vec<u8>, std::io::Error>> {
    let mut out = Vec::new();
    while let Some(mut blob) = in_order.next_blob() {
        let mut bytes = Vec::new();
        let result = blob.read_to_end(&mut bytes).map(|_| bytes);
        let failed = result.is_err();
        out.push(result);
        if failed {
            break;
        }
    }
    assert!(out.len() == count || out.last().is_some_and(|r| r.is_err()), "every blob, or up to the first failure");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_arrive_in_the_order_asked_whatever_their_size() {
    let registry = Registry::start();
    let (a, b) = (repo(&registry.host(), "order/a"), repo(&registry.host(), "order/b"));
    // Large ones (several times the read-ahead) between many small ones,
    // from two repositories.
    let sizes = [10, 3 * READ_AHEAD as usize + 17, 1, 70_000, 2 * READ_AHEAD as usize, 5, 300_000, 0, 12, 1_000_000];
    let mut blobs = Vec::new();
    let mut expected = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let data = bytes(&format!("ordered {i}"), *size);
        let d = describe("application/octet-stream", &data);
        let source = if i % 2 == 0 { &a } else { &b };
        source.put_blob(&d, std::io::Cursor::new(data.clone())).await.unwrap();
        blobs.push((source.clone(), d));
        expected.push(data);
    }
    // The tightest budget: one blob's read-ahead.
    let options = Options { jobs: 3, budget: READ_AHEAD, retry: retry() };
    let got = read_in_order(blobs, options).await;
    assert_eq!(got.len(), expected.len(), "{:?}", got.last().map(|r| r.as_ref().map(Vec::len)));
    for (i, (got, want)) in got.into_iter().zip(expected).enumerate() {
        assert!(got.as_ref().unwrap() == &want, "blob {i} differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_content_fails_its_blob_at_the_end() {
    let registry = Registry::start();
    let r = repo(&registry.host(), "order/tamper");
    let good = bytes("good", 100_000);
    let bad = bytes("bad", 2_000_000);
    let (g, d) = (describe("application/octet-stream", &good), describe("application/octet-stream", &bad));
    r.put_blob(&g, std::io::Cursor::new(good.clone())).await.unwrap();
    r.put_blob(&d, std::io::Cursor::new(bad.clone())).await.unwrap();
    let hex = d.digest.hex();
    let path = registry.storage_dir().join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]));
    let mut flipped = bad;
    flipped[1_999_999] ^= 0xff;
    std::fs::write(&path, flipped).unwrap();
    let options = Options { jobs: 2, budget: 64 << 20, retry: retry() };
    let got = read_in_order(vec![(r.clone(), g), (r, d.clone())], options).await;
    assert_eq!(got[0].as_ref().unwrap(), &good);
    let e = got[1].as_ref().unwrap_err();
    let copy = e.get_ref().and_then(|i| i.downcast_ref::<BlobCopyError>()).expect("names the blob");
    assert_eq!(copy.digest, d.digest);
    assert!(matches!(copy.source, Error::Content { .. }), "{}", copy.source);
}

/// A registry whose first answer for the blob breaks off after `cut`
/// bytes; later answers honour `Range` with `206` (`ranges`), or send the
/// whole blob again with `200`. `later` is what later answers serve.
/// Records each request's `Range` header.
fn breaking_registry(blob: Vec<u8>, later: Vec<u8>, cut: usize, ranges: bool) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut range = None;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let probe = line.starts_with("GET /v2/ ");
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').parse::<usize>().ok();
                }
            }
            if probe {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
                continue;
            }
            log.lock().unwrap().push(range.map(|r| r.to_string()));
            let first = n <= 1; // the probe, then the first blob request
            let body = if first { &blob } else { &later };
            match range {
                Some(from) if ranges && !first => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len() - from,
                        body.len() - 1,
                        body.len()
                    );
                    let _ = stream.write_all(&body[from..]);
                }
                _ => {
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = stream.write_all(if first { &body[..cut] } else { body });
                }
            }
        }
    });
    (host, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_is_resumed_where_it_stopped() {
    let blob = bytes("resumed", 3_000_000);
    let d = describe("application/octet-stream", &blob);
    for ranges in [true, false] {
        let (host, requests) = breaking_registry(blob.clone(), blob.clone(), 1_234_567, ranges);
        let r = repo(&host, "flaky/app");
        let got = read_in_order(vec![(r, d.clone())], Options { jobs: 1, budget: 64 << 20, retry: retry() }).await;
        assert!(got[0].as_ref().unwrap() == &blob, "ranges honoured: {ranges}");
        let requests = requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[1].as_deref(), Some("1234567"), "the second asks for the rest: {requests:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_stream_that_differs_is_refused() {
    // The rest served after the break belongs to other content: what was
    // handed over is checked as a whole, so the blob fails.
    let blob = bytes("original", 1_000_000);
    let mut other = blob.clone();
    other[900_000] ^= 1;
    let d = describe("application/octet-stream", &blob);
    let (host, _) = breaking_registry(blob, other, 500_000, true);
    let got = read_in_order(vec![(repo(&host, "flaky/app"), d.clone())], Options { jobs: 1, budget: 64 << 20, retry: retry() }).await;
    let e = got[0].as_ref().unwrap_err();
    let copy = e.get_ref().and_then(|i| i.downcast_ref::<BlobCopyError>()).expect("names the blob");
    assert!(copy.source.to_string().contains("mismatch"), "{}", copy.source);
}
