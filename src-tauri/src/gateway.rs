//! Runs the OpenAI-compatible gateway on loopback beside the window, and
//! restarts it whenever the owner switches it or changes its port.

use pincer_app::App;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::sync::oneshot;

/// Follows the gateway settings for as long as the app runs.
pub async fn supervise(app: App) {
    let mut settings = app.watch_settings();
    let mut running: Option<oneshot::Sender<()>> = None;
    loop {
        let wanted = settings.borrow_and_update().clone();
        if let Some(stop) = running.take() {
            let _ = stop.send(());
        }
        if wanted.gateway_enabled {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, wanted.gateway_port));
            match tokio::net::TcpListener::bind(address).await {
                Ok(listener) => {
                    let (stop, stopped) = oneshot::channel::<()>();
                    running = Some(stop);
                    app.set_gateway_status(Some(format!("http://{address}/v1")), None);
                    let router = pincer_gateway::router(
                        app.clone(),
                        pincer_gateway::GatewayOptions::default(),
                    );
                    tokio::spawn(async move {
                        let shutdown = async move {
                            let _ = stopped.await;
                        };
                        if let Err(error) = pincer_gateway::serve(listener, router, shutdown).await
                        {
                            tracing::error!(%error, "the gateway stopped");
                        }
                    });
                }
                Err(error) => {
                    let message = if error.kind() == std::io::ErrorKind::AddrInUse {
                        format!("port {} is in use by another program (or another Pincer); choose another port", wanted.gateway_port)
                    } else {
                        format!("cannot listen on {address}: {error}")
                    };
                    tracing::warn!("{message}");
                    app.set_gateway_status(None, Some(message));
                }
            }
        } else {
            app.set_gateway_status(None, None);
        }
        if settings.changed().await.is_err() {
            return;
        }
    }
}
