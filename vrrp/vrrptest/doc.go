// Package vrrptest holds in-memory fakes of the vrrp driver's collaborators:
// a link of Conns (Net), an Addresser, an ARPSender and a Clock whose
// Advance waits for the driver to take each timer fire. Tests of vrrp use
// them to run a Router, or several routers talking to each other, without
// sockets, netlink or sleeps. Nothing here touches the host's network.
package vrrptest
