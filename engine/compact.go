package engine

// compactTrees copies the programs' condition trees into three arrays (nodes, their kids,
// predicates), program after program, each tree in the order evaluation walks it. An event
// is evaluated against its candidate programs in program order, and their trees, compiled in
// parallel among the garbage of parsing, were scattered across the heap: the first load of
// each node and predicate missed the caches. The stages and guards, which point into the
// trees, are pointed at the copies.
func (s *Set) compactTrees() {
	// Sizes to make the arrays at: a node several parents share (a selection two "1 of"
	// patterns name) is counted once per parent, and the stages are not counted, being
	// parts of the tree. Were an array too short, append would move it, and the copies made
	// before stay valid in the old array: only their locality is lost.
	var nNodes, nKids, nPreds int
	var count func(n *node)
	count = func(n *node) {
		if n == nil {
			return
		}
		nNodes++
		nKids += len(n.kids)
		if n.pred != nil {
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
	}

	nodes := make([]node, 0, nNodes)
	kids := make([]*node, 0, nKids)
	preds := make([]pred, 0, nPreds)
	nodeCopy := make(map[*node]*node, nNodes)
	predCopy := make(map[*pred]*pred, nPreds)
	copyPred := func(pr *pred) *pred {
		c, _ := copyOnce(&preds, predCopy, pr)
		return c
	}
	var copyNode func(n *node) *node
	copyNode = func(n *node) *node {
		c, fresh := copyOnce(&nodes, nodeCopy, n)
		if !fresh {
			return c
		}
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

// copyOnce appends a copy of x to *arr and returns it, or returns the copy made before;
// fresh reports a copy made now. nil is copied as nil.
func copyOnce[T any](arr *[]T, copies map[*T]*T, x *T) (c *T, fresh bool) {
	if x == nil {
		return nil, false
	}
	if c, ok := copies[x]; ok {
		return c, false
	}
	*arr = append(*arr, *x)
	c = &(*arr)[len(*arr)-1]
	copies[x] = c
	return c, true
}
