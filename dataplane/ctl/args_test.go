package ctl

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestArgsRequest(t *testing.T) {
	vip, rip := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.1.1:8080")
	two, zero := 2, 0
	p600, pBad, l7 := "600", "soon", "l7"
	d600 := 600 * time.Second
	tcp := func(s ServiceSpec) *ServiceSpec { s.Key = Key{Proto: TCP, Addr: vip}; return &s }
	tests := []struct {
		name string
		verb string
		args Args
		want Request
		err  string
	}{
		{name: "list all", verb: VerbList, want: Request{Verb: VerbList}},
		{name: "list one udp", verb: VerbList, args: Args{UDP: "10.0.0.1:80"},
			want: Request{Verb: VerbList, Service: &ServiceSpec{Key: Key{Proto: UDP, Addr: vip}}}},
		{name: "add-service", verb: VerbAddService,
			args: Args{TCP: "10.0.0.1:80", ServiceOptions: true, Scheduler: "wlc", Mode: &l7, Name: "web", Persistent: &p600, Netmask: "255.255.255.0"},
			want: Request{Verb: VerbAddService, Service: tcp(ServiceSpec{Scheduler: "wlc", Mode: "l7", Name: "web", Persistence: &d600, Netmask: "255.255.255.0"})}},
		{name: "service options ignored by a server verb", verb: VerbDeleteServer,
			args: Args{TCP: "10.0.0.1:80", Scheduler: "wlc", ServerOptions: true, Real: "10.0.1.1:8080"},
			want: Request{Verb: VerbDeleteServer, Service: tcp(ServiceSpec{}), Server: &ServerSpec{Addr: rip}}},
		{name: "add-server", verb: VerbAddServer,
			args: Args{TCP: "10.0.0.1:80", ServerOptions: true, Real: "10.0.1.1:8080", NAT: true, Weight: &two, Upper: &zero, Lower: &zero, Name: "rs1"},
			want: Request{Verb: VerbAddServer, Service: tcp(ServiceSpec{}),
				Server: &ServerSpec{Addr: rip, Name: "rs1", Forward: ForwardNAT, Weight: &two, Upper: &zero, Lower: &zero}}},
		{name: "edit-server weight only", verb: VerbEditServer,
			args: Args{TCP: "10.0.0.1:80", ServerOptions: true, Real: "10.0.1.1:8080", Weight: &zero},
			want: Request{Verb: VerbEditServer, Service: tcp(ServiceSpec{}), Server: &ServerSpec{Addr: rip, Weight: &zero}}},
		{name: "both protocols", verb: VerbList, args: Args{TCP: "10.0.0.1:80", UDP: "10.0.0.1:80"}, err: "give -t or -u, not both"},
		{name: "bad vip", verb: VerbList, args: Args{TCP: "10.0.0.1"}, err: `-t "10.0.0.1": want ADDRESS:PORT`},
		{name: "bad udp vip", verb: VerbList, args: Args{UDP: "x:1"}, err: `-u "x:1": want ADDRESS:PORT`},
		{name: "bad persistence", verb: VerbEditService, args: Args{TCP: "10.0.0.1:80", ServiceOptions: true, Persistent: &pBad}, err: `-p "soon": want a timeout in seconds`},
		{name: "no -r", verb: VerbAddServer, args: Args{TCP: "10.0.0.1:80", ServerOptions: true}, err: "-r RIP:PORT is required"},
		{name: "bad -r", verb: VerbAddServer, args: Args{TCP: "10.0.0.1:80", ServerOptions: true, Real: "rs1"}, err: `-r "rs1": want ADDRESS:PORT`},
		{name: "two methods", verb: VerbAddServer, args: Args{TCP: "10.0.0.1:80", ServerOptions: true, Real: "10.0.1.1:8080", DR: true, Tun: true}, err: "give one of -g, -i and -m"},
		{name: "no service", verb: VerbDeleteService, err: "delete-service: name the service with -t VIP:PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.args.Request(tc.verb)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("request\n%+v %+v %+v\nwant\n%+v %+v %+v", got, got.Service, got.Server, tc.want, tc.want.Service, tc.want.Server)
			}
		})
	}
}
