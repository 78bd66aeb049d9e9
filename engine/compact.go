package engine

// compactTrees copies the programs' condition trees into three arrays (nodes, their kids,
// predicates), program after program, each tree in the order evaluation walks it. An event
// is evaluated against its candidate programs in program order, and their trees, compiled in
// parallel among the garbage of parsing, were scattered across the heap: the first load of
// each node and predicate missed the caches. The stages and guards, which point into the
// trees, are pointed at the copies.
func (s *Set) compactTrees() {
	var nNodes, nKids, nPreds int
	seenNode := map[*node]bool{}
	seenPred := map[*pred]bool{}
	var count func(n *node)
	count = func(n *node) {
		if n == nil || seenNode[n] {
			return
		}
		seenNode[n] = true
		nNodes++
		nKids += len(n.kids)
		if n.pred != nil && !seenPred[n.pred] {
			seenPred[n.pred] = true
			nPreds++
		}
		for _, k := range n.kids {
			count(k)
		}
	}
	for _, p := range s.Programs {
		count(p.root)
		for _, g := range p.guards {
			count(g.node)
		}
		for _, st := range p.stages {
			count(st.node)
		}
	}

	// The arrays are made at their final size: the copies are pointed at as they are made.
	nodes := make([]node, 0, nNodes)
	kids := make([]*node, 0, nKids)
	preds := make([]pred, 0, nPreds)
	nodeCopy := make(map[*node]*node, nNodes)
	predCopy := make(map[*pred]*pred, nPreds)
	copyPred := func(pr *pred) *pred {
		if pr == nil {
			return nil
		}
		if c, ok := predCopy[pr]; ok {
			return c
		}
		preds = append(preds, *pr)
		c := &preds[len(preds)-1]
		predCopy[pr] = c
		return c
	}
	var copyNode func(n *node) *node
	copyNode = func(n *node) *node {
		if n == nil {
			return nil
		}
		if c, ok := nodeCopy[n]; ok {
			return c
		}
		nodes = append(nodes, *n)
		c := &nodes[len(nodes)-1]
		nodeCopy[n] = c
		c.pred = copyPred(n.pred)
		if len(n.kids) > 0 {
			start := len(kids)
			kids = append(kids, n.kids...)
			c.kids = kids[start:len(kids):len(kids)]
			for i, k := range n.kids {
				c.kids[i] = copyNode(k)
			}
		}
		return c
	}
	for _, p := range s.Programs {
		p.root = copyNode(p.root)
		for i := range p.guards {
			p.guards[i].node = copyNode(p.guards[i].node)
		}
		for i := range p.stages {
			st := &p.stages[i]
			st.node = copyNode(st.node)
			for j, pr := range st.preds {
				st.preds[j] = copyPred(pr)
			}
		}
	}
}
