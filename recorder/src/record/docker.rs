//! Following the containers a recorded command starts through Docker's daemon.
//!
//! `docker run` asks dockerd to start the container, and dockerd, containerd and runc are
//! not in the recording, so no task of the recording makes the move into the container's
//! cgroup (see [`super::containers`]). Instead the recorded command talks to the daemon
//! through this proxy: `DOCKER_HOST` in its environment points at a socket of the run's own,
//! with the real socket's owner, group and mode (so exactly the users who could reach the
//! daemon can reach it). Every byte is passed on unchanged; the proxy only reads the request
//! lines going to the daemon, and when one asks to start a container
//! (`POST /containers/<id>/start`), it tells the kernel programs to expect that id
//! ([`ExpectedContainers`]) before passing the request on. The move of the container's first
//! process into its cgroup (`/docker/<id>`) is then reported and its mover stopped as if a
//! task of the recording had made it, and the container is followed from there.
//!
//! Only containers started through the proxy are followed: the command's own (two
//! recordings at once never mix). A daemon named by `DOCKER_HOST` (a unix socket) is proxied
//! the same way; one over TCP, or one a client is sent to with `docker -H`, is not.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    io,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{
        unix::{OwnedReadHalf, OwnedWriteHalf},
        UnixListener, UnixStream,
    },
    task::JoinHandle,
};

use super::kernel::ExpectedContainers;

/// Where Docker's daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The longest request head (request line and headers) read before giving up parsing a
/// connection (it is then only passed on).
const MAX_HEAD: usize = 64 << 10;

/// Name and image of the containers started through the proxy, by id (Docker removes a
/// `--rm` container before the recording ends, and with it what it knew of it).
pub type ContainerNames = Arc<Mutex<BTreeMap<String, (String, String)>>>;

/// A proxy socket for one recording, removed when dropped.
pub struct DockerProxy {
    dir: PathBuf,
    socket: PathBuf,
    real: PathBuf,
    listener: Option<std::os::unix::net::UnixListener>,
    task: Option<JoinHandle<()>>,
}

impl DockerProxy {
    /// A proxy for the daemon the command would talk to (`DOCKER_HOST` when it names a unix
    /// socket, else [`DEFAULT_SOCKET`]), when that socket is there; none for a daemon over
    /// TCP. Bound at once, so the command can be given its address before the proxy serves
    /// (connections wait until [`serve`](Self::serve)).
    pub fn bind() -> io::Result<Option<DockerProxy>> {
        let real = match std::env::var_os("DOCKER_HOST") {
            Some(host) => match host.to_str().and_then(|h| h.strip_prefix("unix://")) {
                Some(path) => PathBuf::from(path),
                None => return Ok(None),
            },
            None => PathBuf::from(DEFAULT_SOCKET),
        };
        let Ok(meta) = std::fs::metadata(&real) else {
            return Ok(None);
        };
        let base = Path::new("/run/leastpriv");
        std::fs::create_dir_all(base)?;
        let dir = tempfile::Builder::new()
            .prefix("docker-")
            .tempdir_in(base)?
            .keep();
        // Traversable by all: the socket's own mode decides who may connect.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let socket = dir.join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket)?;
        std::os::unix::fs::chown(&socket, Some(meta.uid()), Some(meta.gid()))?;
        std::fs::set_permissions(
            &socket,
            std::fs::Permissions::from_mode(meta.permissions().mode() & 0o777),
        )?;
        listener.set_nonblocking(true)?;
        Ok(Some(DockerProxy {
            dir,
            socket,
            real,
            listener: Some(listener),
            task: None,
        }))
    }

    /// The variable to give the recorded command.
    pub fn env(&self) -> (&'static str, OsString) {
        let mut value = OsString::from("unix://");
        value.push(&self.socket);
        ("DOCKER_HOST", value)
    }

    /// Serves connections on the current tokio runtime until dropped, telling `expected`
    /// about every container the clients ask to start, and `names` its name.
    pub fn serve(&mut self, expected: ExpectedContainers, names: ContainerNames) -> io::Result<()> {
        let Some(listener) = self.listener.take() else {
            return Ok(());
        };
        let listener = UnixListener::from_std(listener)?;
        let real = self.real.clone();
        let expected = Arc::new(Mutex::new(expected));
        self.task = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let real = real.clone();
                let expected = Arc::clone(&expected);
                let names = Arc::clone(&names);
                tokio::spawn(async move {
                    if let Err(err) = connection(client, &real, &expected, &names).await {
                        log::debug!("docker proxy connection: {err}");
                    }
                });
            }
        }));
        Ok(())
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// One client connection: passed on both ways, the requests read on the way.
async fn connection(
    client: UnixStream,
    real: &Path,
    expected: &Mutex<ExpectedContainers>,
    names: &ContainerNames,
) -> io::Result<()> {
    let daemon = UnixStream::connect(real).await?;
    let (client_read, mut client_write) = client.into_split();
    let (daemon_read, daemon_write) = daemon.into_split();
    let mut answers = daemon_read;
    let down = async move {
        let copied = tokio::io::copy(&mut answers, &mut client_write).await;
        let _ = client_write.shutdown().await;
        copied
    };
    let up = requests(client_read, daemon_write, real, expected, names);
    let (up, down) = tokio::join!(up, down);
    up?;
    down.map(|_| ())
}

/// Passes the client's requests on, expecting each container it asks to start. Once the
/// connection is taken over (an attach's `Upgrade`) or a body's length is not given, the
/// rest is passed on as it comes.
async fn requests(
    client: OwnedReadHalf,
    mut daemon: OwnedWriteHalf,
    real: &Path,
    expected: &Mutex<ExpectedContainers>,
    names: &ContainerNames,
) -> io::Result<()> {
    let mut client = BufReader::new(client);
    loop {
        let Some(head) = read_head(&mut client).await? else {
            break;
        };
        let request = Request::parse(&head);
        if let Some(target) = request.as_ref().and_then(Request::started_container) {
            expect(target, real, expected, names).await;
        }
        daemon.write_all(&head).await?;
        match request {
            Some(Request {
                body: Body::Length(length),
                ..
            }) => {
                let mut body = (&mut client).take(length);
                tokio::io::copy(&mut body, &mut daemon).await?;
            }
            Some(Request {
                body: Body::None, ..
            }) => {}
            // Upgraded, chunked, or not HTTP as expected: pass on the rest unread.
            _ => {
                tokio::io::copy(&mut client, &mut daemon).await?;
                break;
            }
        }
    }
    let _ = daemon.shutdown().await;
    Ok(())
}

/// A request head, up to and with the blank line; `None` at the end of the stream.
async fn read_head(client: &mut BufReader<OwnedReadHalf>) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let read = client.read_until(b'\n', &mut head).await?;
        if read == 0 {
            return Ok((!head.is_empty()).then_some(head));
        }
        if head.ends_with(b"\r\n\r\n") || head == b"\r\n" || head.len() > MAX_HEAD {
            return Ok(Some(head));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    /// Chunked, or the connection is taken over after this request: not followed further.
    Opaque,
}

#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    body: Body,
}

impl Request {
    fn parse(head: &[u8]) -> Option<Request> {
        let text = std::str::from_utf8(head).ok()?;
        if !text.ends_with("\r\n\r\n") {
            return None;
        }
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
        let mut body = Body::None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => body = Body::Length(value.parse().ok()?),
                "transfer-encoding" if !value.eq_ignore_ascii_case("identity") => {
                    return Some(Request {
                        method,
                        target,
                        body: Body::Opaque,
                    })
                }
                "upgrade" => {
                    return Some(Request {
                        method,
                        target,
                        body: Body::Opaque,
                    })
                }
                _ => {}
            }
        }
        Some(Request {
            method,
            target,
            body,
        })
    }

    /// The container a `POST [/vX.Y]/containers/<id or name>/start` asks to start.
    fn started_container(&self) -> Option<&str> {
        if self.method != "POST" {
            return None;
        }
        let path = self.target.split('?').next()?;
        let mut parts = path.trim_start_matches('/').split('/');
        let mut first = parts.next()?;
        if first.starts_with('v') && first[1..].contains('.') {
            first = parts.next()?;
        }
        let (container, action) = (parts.next()?, parts.next()?);
        (first == "containers" && action == "start" && parts.next().is_none()).then_some(container)
    }
}

/// Expects container `target` (an id, an id prefix or a name) in the kernel programs.
async fn expect(
    target: &str,
    real: &Path,
    expected: &Mutex<ExpectedContainers>,
    names: &ContainerNames,
) {
    let Some((id, name, image)) = container_id(real, target).await else {
        eprintln!(
            "leastpriv: warning: cannot tell which container {:?} is; it will not be recorded",
            target
        );
        return;
    };
    let result = expected
        .lock()
        .map_err(|_| io::Error::other("poisoned"))
        .and_then(|mut table| table.expect(&id).map_err(io::Error::other));
    match result {
        Ok(()) => {
            if let Ok(mut names) = names.lock() {
                names.insert(id, (name, image));
            }
        }
        Err(err) => eprintln!("leastpriv: warning: container {id} will not be recorded: {err}"),
    }
}

fn is_full_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The id, name and image of container `name` (or id) as the daemon has them
/// (`GET /containers/<name>/json`).
async fn container_id(real: &Path, name: &str) -> Option<(String, String, String)> {
    let mut daemon = UnixStream::connect(real).await.ok()?;
    let request = format!("GET /containers/{name}/json HTTP/1.0\r\nHost: docker\r\n\r\n");
    daemon.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    daemon.read_to_end(&mut answer).await.ok()?;
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body: serde_json::Value = serde_json::from_slice(&answer[start..]).ok()?;
    let id = body["Id"].as_str().filter(|id| is_full_id(id))?.to_owned();
    let name = body["Name"].as_str().unwrap_or_default();
    let image = body["Config"]["Image"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Some((id, name.trim_start_matches('/').to_owned(), image))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Request {
        Request::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn start_requests_name_their_container() {
        let id = "a".repeat(64);
        let start = head(&format!(
            "POST /v1.41/containers/{id}/start HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Length: 0\r\n\r\n"
        ));
        assert_eq!(start.started_container(), Some(id.as_str()));
        assert_eq!(start.body, Body::Length(0));
        let unversioned = head("POST /containers/web/start HTTP/1.1\r\n\r\n");
        assert_eq!(unversioned.started_container(), Some("web"));
        for other in [
            "GET /v1.41/containers/web/start HTTP/1.1\r\n\r\n",
            "POST /v1.41/containers/web/stop HTTP/1.1\r\n\r\n",
            "POST /v1.41/containers/create?name=web HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
            "POST /v1.41/exec/abc/start HTTP/1.1\r\n\r\n",
            "POST /v1.41/containers/web/start/x HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(head(other).started_container(), None, "{other}");
        }
    }

    #[test]
    fn bodies_are_followed_or_given_up_on() {
        let create = head("POST /v1.41/containers/create HTTP/1.1\r\ncontent-length: 312\r\n\r\n");
        assert_eq!(create.body, Body::Length(312));
        let attach = head(
            "POST /v1.41/containers/x/attach?stream=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        );
        assert_eq!(attach.body, Body::Opaque);
        let chunked = head("POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(chunked.body, Body::Opaque);
        assert!(Request::parse(b"POST /x HTTP/1.1\r\n").is_none());
        assert!(Request::parse(b"\xff\xfe\r\n\r\n").is_none());
        assert!(Request::parse(b"POST /x HTTP/1.1\r\nContent-Length: lots\r\n\r\n").is_none());
    }
}
