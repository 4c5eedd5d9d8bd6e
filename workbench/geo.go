package workbench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lvslab/lvslab/sim"
)

// writeClusterTable prints the clusters of multi-cluster runs (thesis
// §2.4.3), one line per cluster of each run, below WriteTable's table:
// the run (its row number, scheduler and sweep labels), then the
// cluster's nodes, share of the clients, requests of its clients, those
// it tunnelled away and those it received, its throughput, the response
// times of its clients (WAN included), its highest aggregate load and the
// time it spent overflowing.
func writeClusterTable(w io.Writer, cells []Cell, rs []*sim.Result) error {
	if _, err := fmt.Fprintln(w, "\nclusters (response times of each cluster's own clients, wherever served):"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	labels := false
	for _, c := range cells {
		labels = labels || len(c.Labels) > 0
	}
	head := []string{"run", "alg", "cluster", "nodes", "share %", "home", "out", "in", "req/s", "p50 ms", "p95 ms", "mean ms", "max load", "overflow s"}
	if labels {
		head = append(head, "parameters")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, r := range rs {
		var total float64
		for _, c := range r.Config.Clusters {
			total += c.Share
		}
		for k, c := range r.Clusters {
			share := 0.0
			if k < len(r.Config.Clusters) && total > 0 {
				share = 100 * r.Config.Clusters[k].Share / total
			}
			row := []string{
				strconv.Itoa(i + 1), DisplayName(r.Config.Algorithm), strconv.Itoa(c.Cluster), strconv.Itoa(c.Nodes),
				strconv.FormatFloat(share, 'f', 1, 64),
				strconv.Itoa(c.Home), strconv.Itoa(c.OverflowOut), strconv.Itoa(c.OverflowIn),
				strconv.FormatFloat(c.ThroughputRPS, 'f', 1, 64),
				ms(c.P50), ms(c.P95), ms(c.MeanResponse),
				strconv.FormatFloat(c.MaxLoad, 'f', 2, 64),
				strconv.FormatFloat(c.OverflowTime.Seconds(), 'f', 0, 64),
			}
			if labels && i < len(cells) {
				row = append(row, strings.Join(cells[i].Labels, " "))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
	}
	return tw.Flush()
}
