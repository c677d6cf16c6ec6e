//! `fetch_url` against a real HTTP server on 127.0.0.1 that records what
//! it receives: HTML comes back as text, a large body is cut at the limit,
//! binary content is refused, and the request carries nothing but a GET.

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// Serves each (content type, body) once, in order, and sends back the
/// request head it received.
fn serve(responses: Vec<(&'static str, Vec<u8>)>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (heads, received) = mpsc::channel();
    std::thread::spawn(move || {
        for (content_type, body) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            heads.send(head).unwrap();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (address, received)
}

#[tokio::test]
async fn a_page_comes_back_as_text_with_nothing_of_the_owner_sent() {
    let page = b"<!doctype html><html><head><title>T</title><script>var x=1;</script></head><body><h1>Weather</h1><p>Sunny, <b>21</b> degrees.</p></body></html>".to_vec();
    let (address, heads) = serve(vec![("text/html; charset=utf-8", page)]);
    let result = pincer_tools::fetch_url(&json!({"url": format!("{address}/today")}))
        .await
        .unwrap();
    let text = result["text"].as_str().unwrap();
    assert!(text.contains("Weather") && text.contains("Sunny, **21** degrees."), "{text}");
    assert!(!text.contains("<p>"), "{text}");
    assert_eq!(result["status"], 200);
    assert_eq!(result["truncated"], false);
    let head = heads.recv().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /today http/1.1"), "{head}");
    assert!(!head.contains("cookie") && !head.contains("authorization"), "{head}");
}

#[tokio::test]
async fn a_large_body_is_cut_and_binary_content_refused() {
    let big = "a".repeat(3 * 1024 * 1024).into_bytes();
    let (address, _heads) = serve(vec![
        ("text/plain", big),
        ("application/octet-stream", vec![0u8, 1, 2, 3]),
    ]);
    let cut = pincer_tools::fetch_url(&json!({"url": format!("{address}/big")}))
        .await
        .unwrap();
    assert_eq!(cut["truncated"], true);
    assert_eq!(cut["text"].as_str().unwrap().len(), 2 * 1024 * 1024);
    let refused = pincer_tools::fetch_url(&json!({"url": format!("{address}/bin")}))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("not text"), "{refused}");
}
