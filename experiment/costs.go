package experiment

import (
	"fmt"
	"strings"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
)

// ParseCosts reads the reference model's constants from comma-separated
// KEY=VALUE pairs ("connect=140us,disk_access=28ms"), the keys of an
// experiment file's costs section read as that section reads them
// (Param.Set: a malformed, negative or zero value is an error naming the
// key). The constants not given stay 0, which selects their defaults.
func ParseCosts(s string) (models.Costs, error) {
	var c sim.Config
	if strings.TrimSpace(s) == "" {
		return c.Costs, nil
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return models.Costs{}, fmt.Errorf("%q: want KEY=VALUE", strings.TrimSpace(kv))
		}
		p, found := ParamByKey("costs." + k)
		if !found {
			return models.Costs{}, fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(costKeys(), ", "))
		}
		if seen[k] {
			return models.Costs{}, fmt.Errorf("%s: given twice", k)
		}
		seen[k] = true
		if err := p.Set(&c, v); err != nil {
			return models.Costs{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	return c.Costs, nil
}

// costKeys lists the keys of the costs section, in table order.
func costKeys() []string {
	var keys []string
	for _, p := range params {
		if k, ok := strings.CutPrefix(p.FileKey(), "costs."); ok {
			keys = append(keys, k)
		}
	}
	return keys
}
