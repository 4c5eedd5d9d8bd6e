package sim

// The "cachecluster" front end (thesis §7.5.4, fig. 7.7): the nodes are
// cache servers in front of an origin server, reached through an L4
// director, dedicated KTCPVS distributors and the CLS, exactly as in
// "distributed" (frontend_distributed.go: Distributors, CLS cost,
// batching rule, load), with the cache cluster's bypasses:
//
//   - a non-cacheable request (traces.Request.Dynamic, which is
//     algorithms.Request.NoCache) is fetched from the origin by its
//     distributor directly, without a CLS lookup;
//   - a lookup the CLS answers with ErrBypass (lbll-cache: the target's
//     cache nodes are overloaded and no node is lightly loaded) goes to
//     the origin;
//   - a lookup the CLS answers with ErrNoServer (no usable cache node)
//     goes to the origin too: a cache cluster can always fall back on it.
//
// The origin answers after OriginTime (100 ms by default); such requests
// count in Result.Bypassed and Completed, in no node's numbers, and still
// count against the admission limit while they wait. The intended
// scheduler is "lbll-cache". Note that the thesis preset's trace filter
// drops dynamic requests, so only a workload that keeps them exercises the
// first bypass.

func init() { frontEnds[FrontEndCacheCluster] = newCacheCluster }

func newCacheCluster(e *engine) (frontEnd, error) {
	c, err := newCLSFrontEnd(e, FrontEndCacheCluster, e.cfg.Distributors)
	if err != nil {
		return nil, err
	}
	c.cache = true
	return c, nil
}
