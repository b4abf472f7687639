// Package udev is how raid-settle learns about devices: raw kernel uevents
// from netlink, and the devices already present in sysfs.
//
// Everything arrives as one type, Event, whichever way it came in:
//
//   - ParseEvent decodes a raw kernel uevent ("ACTION@DEVPATH\0KEY=VALUE\0...").
//     It is pure and strict: a message that the kernel could not have sent
//     is an error, never a panic and never a guess.
//   - Monitor listens on NETLINK_KOBJECT_UEVENT group 1, the kernel's own
//     group (not udevd's, which only speaks once udevd has processed an event).
//     The socket comes from github.com/pilebones/go-udev; Monitor reads it
//     into one reused buffer and drops every message whose sender is not the
//     kernel, counting those as rejected, along with messages ParseEvent
//     refuses.
//   - Walk lists what sysfs shows now as "add" events, like a coldplug: the
//     storage controllers on the PCI bus, the SCSI hosts, and every block
//     device and partition.
//
// # No gap between listening and scanning
//
// A device that appears between a scan and the start of listening would be
// missed by both. OpenMonitor therefore binds the socket at once; the
// caller scans sysfs afterwards and only then starts Run. Events from the
// gap wait in the socket's receive queue, so a device may be reported twice
// (once by Walk, once by its uevent): consumers treat "add" as idempotent.
//
// # Overflow
//
// When events arrive faster than they are read, the kernel drops them and
// reports ENOBUFS once per episode: the episode lasts until the receive
// queue has been emptied, and drops within it are silent. Monitor asks for a
// large receive queue (16 MiB by default) and, after an overflow, keeps
// reading until the queue is empty, then walks sysfs and emits every device
// it finds as an "add" event with Source SourceResync. Any device whose
// uevent was lost existed in sysfs before that uevent was sent, so it is in
// the walk: no disk is missed, at the price of duplicate adds. A "remove"
// lost in an overflow is not recovered; a boot gate waiting for disks does
// not need it.
//
// # Controllers
//
// ClassifyPCIClass, ControllerFromEvent, ControllerFor and TakeSnapshot turn
// PCI class codes and devpaths into the view the decision engine needs: which
// storage controllers exist (RAID, SAS, SCSI, SATA, NVMe, Fibre Channel, other), which driver
// they are bound to, and which controller each disk hangs off.
//
// The netlink code is Linux-only; elsewhere OpenMonitor reports
// errors.ErrUnsupported and the rest of the package works as usual.
package udev
