//! The storage contract, one narrow trait per aggregate; [`Store`] is all of them together.
//!
//! Code that needs only one aggregate may take that trait (`&dyn ClientStore`); the server holds
//! the whole as `Arc<dyn Store>`. Calling a method through `dyn Store` needs its trait in scope:
//! `use portcullis_server::store::prelude::*;`.

mod artifacts;
mod audit;
mod clients;
mod codes;
mod consents;
mod directory;
mod grants;
mod keys;
mod maintenance;
mod mirror;
mod refresh;
mod replay;
mod sessions;
mod throttle;
mod upstreams;
mod users;

pub use artifacts::ArtifactStore;
pub use audit::AuditStore;
pub use clients::ClientStore;
pub use codes::CodeStore;
pub use consents::ConsentStore;
pub use directory::DirectoryStore;
pub use grants::GrantStore;
pub use keys::KeyStore;
pub use maintenance::Maintenance;
pub use mirror::MirrorStore;
pub use refresh::RefreshStore;
pub use replay::ReplayStore;
pub use sessions::SessionStore;
pub use throttle::ThrottleStore;
pub use upstreams::UpstreamStore;
pub use users::UserStore;

/// Every storage aggregate at once: what the server holds as `Arc<dyn Store>`. Implemented for
/// every type that implements all the aggregate traits; a backend implements those.
pub trait Store:
    ClientStore
    + UserStore
    + DirectoryStore
    + CodeStore
    + GrantStore
    + RefreshStore
    + ReplayStore
    + ArtifactStore
    + ConsentStore
    + SessionStore
    + ThrottleStore
    + KeyStore
    + UpstreamStore
    + Maintenance
    + MirrorStore
    + AuditStore
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: ClientStore
        + UserStore
        + DirectoryStore
        + CodeStore
        + GrantStore
        + RefreshStore
        + ReplayStore
        + ArtifactStore
        + ConsentStore
        + SessionStore
        + ThrottleStore
        + KeyStore
        + UpstreamStore
        + Maintenance
        + MirrorStore
        + AuditStore
        + std::fmt::Debug
        + ?Sized
{
}
