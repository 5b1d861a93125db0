//! The PersistentVolume binder: binds each claim to the smallest matching Available
//! volume (capacity, access modes, class, mode, selector), marks both Bound with the
//! upstream annotations, and releases or deletes volumes whose claims are gone.
//! `plan` decides, `driver` writes. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
