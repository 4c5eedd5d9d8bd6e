// Package conntab is the layer-4 director's connection table: IPVS's
// connection entries and persistence templates (ip_vs_conn.c), found by
// <protocol, client, virtual service> for requests and by <protocol, real
// server, client> for NAT replies, timed out by a one-second timing wheel
// instead of a timer per connection (thesis ch.5), and IPVS's TCP state
// machine with its INPUT_ONLY table for connections whose replies bypass
// the director (ip_vs_proto_tcp.c).
//
// Time is a tick count of seconds since the director's origin, passed in
// by the caller: the package reads no clock.
package conntab
