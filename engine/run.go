package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Run.
type Options struct {
	Threads  int       // workers; 0: one per core
	MinLevel string    // detections below this level are not reported (correlations still see them)
	Stdin    io.Reader // read for the input "-"
	// Transient: emit keeps neither the Detection nor its Event after it returns (it writes
	// them out, say). Run then reads into buffers it has already used, instead of allocating
	// and zeroing new ones, which with several workers is a sizeable share of the CPU time,
	// and the workers may map a file they read (see mapped.go): an Event kept past Run would
	// point into memory no longer mapped.
	Transient bool
	// Output, when set, receives the detections Run reports, formatted by the workers. emit
	// may then be nil.
	Output *Writer

	// selfRead, for tests, chooses how input is read: 1 by the workers themselves, -1 by
	// readers of its own; 0 lets Run choose (see runner.selfRead). mapMin, for tests, is the
	// smallest file the workers map when they read for themselves (0: minMapped).
	selfRead int
	mapMin   int64
}

// Detection is one rule matching one event (or, for a correlation, the event completing it).
type Detection struct {
	Program   *Program        `json:"-"`
	RuleID    string          `json:"rule_id"`
	Title     string          `json:"title"`
	Level     string          `json:"level"`
	Timestamp string          `json:"timestamp"`
	File      string          `json:"file"`
	Record    int64           `json:"record"`
	EventName string          `json:"event_name,omitempty"`
	User      string          `json:"user,omitempty"`
	SourceIP  string          `json:"source_ip,omitempty"`
	Region    string          `json:"region,omitempty"`
	Account   string          `json:"account,omitempty"`
	Group     []string        `json:"group,omitempty"` // correlation: the group-by values
	Value     float64         `json:"value,omitempty"` // correlation: the aggregated value (a count, a sum, ...)
	Event     json.RawMessage `json:"event"`

	corr []corrKey // group keys for the correlations this rule is a base of
	// at is Timestamp parsed, for the correlations (atOK: it could be), in the worker rather
	// than in the goroutine that keeps input order.
	at   time.Time
	atOK bool
	// flat: Event holds no '\n' or '\r', so it can be written out on one line as it is,
	// without looking through it again.
	flat bool
	// shown: the detection is reported (its rule generates detections, at or above the
	// minimum level); line: the number of the result's formatted lines up to its own.
	shown bool
	line  int
	// aggregated: a correlation's (or a Sigma v1 aggregation's) detection, which carries Group
	// and Value.
	aggregated bool
	// colText, when set, holds the timeline columns (Timestamp to Account, in the order of
	// outPaths) as the event's bytes, and those fields are empty: a worker rendering a
	// detection that nothing keeps sets it, valid until its next event.
	colText *[6][]byte
}

// Stats summarise a run.
type Stats struct {
	Files      int
	Events     int64
	Bytes      int64
	Detections int64
	ByLevel    map[string]int64
	ByRule     map[*Program]int64
	Errors     []ReadError // the first ones
	ErrorCount int
	Duration   time.Duration
}

const maxKeptErrors = 200

// formatted is a line formatted by a worker: its head ends at end in result.out, and verbatim
// follows it (see renderer).
type formatted struct {
	end      int
	verbatim []byte
}

type result struct {
	at    place
	last  bool
	front bool
	dets  []Detection // the detections emit or the correlations need
	// hits are the program indexes of the detections shown, in order; when Options.Output
	// is set, lines are their lines, formatted.
	hits   []int32
	lines  []formatted
	out    []byte    // the lines' heads
	keys   []corrKey // the dets' corr keys, in one array
	errs   []ReadError
	events int64
	bytes  int64
	buf    []byte // the chunk's buffer, to give back to the pool (see chunk.buf)
	mapped *mapping
	end    int // where the chunk ends in mapped
}

// Run evaluates the set over the events of the inputs (files, directories, "-" for stdin),
// in parallel, and reports each detection in input order: to emit when it is not nil, and to
// Options.Output when that is set. Unreadable or malformed input is reported in Stats.Errors
// and skipped. emit is never called concurrently, but not always from the goroutine that
// called Run: with one input and no core to spare, the workers report themselves.
func Run(ctx context.Context, set *Set, inputs []string, opts Options, emit func(*Detection) error) (*Stats, error) {
	start := time.Now()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	files, lerrs := listInputs(inputs)
	st := &Stats{Files: len(files), ByLevel: map[string]int64{}, ByRule: map[*Program]int64{}}
	for _, e := range lerrs {
		st.addErr(e)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := newRunner(ctx, set, files, threads, opts, emit)
	if r.selfRead(threads) {
		r.pull = &puller{r: r}
	} else {
		// Files are read by up to one reader per worker: a directory of small gzipped files
		// would otherwise leave workers waiting for the one that decompresses.
		r.read(max(1, min(threads, len(files))))
	}
	em := &emitter{set: set, corr: set.corr.start(), st: st, out: opts.Output, emit: emit, minRank: levelRank(opts.MinLevel), byProg: make([]int64, len(set.Programs))}
	r.em, r.cancel = em, cancel
	r.evaluate(threads)
	err := r.collect()
	em.finish()
	st.Duration = time.Since(start)
	if r.pull != nil {
		err = cmp.Or(r.pull.unmap(), err)
	}
	if err != nil {
		return st, err
	}
	return st, ctx.Err()
}

// runner is one Run's pipeline: readers cut files into chunks, workers evaluate them, and the
// goroutine that called Run reports their results in input order; or, with one input and no
// core to spare, the workers do all three themselves (see puller).
type runner struct {
	ctx     context.Context
	set     *Set
	files   []string
	opts    Options
	emit    func(*Detection) error
	chunks  chan *chunk
	results chan *result
	flow    *flow
	// pool holds input buffers whose detections have all been reported (Options.Transient);
	// spent holds results reported, to be filled again, their slices with them, when nothing
	// can keep their detections.
	pool  chan []byte
	spent chan *result
	pull  *puller // set when the workers read for themselves

	// put reports results in input order: called by the goroutine that called Run or, when
	// the workers read for themselves, by the worker whose result comes next.
	em      *emitter
	cancel  func()
	omu     sync.Mutex // guards pending, next and writing
	pending map[place]*result
	next    place // the place of the result to report next
	writing bool  // a goroutine is reporting
	werr    error // the first error reporting met
}

// selfRead reports whether the workers read the input themselves (see puller) rather than
// readers of its own handing them chunks: when one input is read and no core is left over
// for a reader. With two workers on two cores, BenchmarkRun/jsonl took 6% less time so
// (median of 7), and hunt over 502 MB of CloudTrail records 2-4% less (four sets of
// interleaved runs).
func (r *runner) selfRead(threads int) bool {
	if r.opts.selfRead != 0 {
		return r.opts.selfRead > 0
	}
	return len(r.files) <= 1 && threads >= runtime.GOMAXPROCS(0)
}

// puller lets the workers read a file themselves, one chunk at a time and one worker at a
// time, and then report their results themselves (see put). With no core to spare for a
// reader and a writer, a worker then evaluates a chunk it has just read, warm in its own
// core's caches, and never waits for another goroutine to be scheduled.
type puller struct {
	r      *runner
	mu     sync.Mutex
	fr     fileReader
	fi     int     // the file being read
	c      *cutter // its cutter, nil when it is not open
	opened bool    // file fi was opened (c is nil when it could not be)
	part   int
	queue  []*chunk // chunks cut, not yet handed out
	// maps are the files mapped (see mapped.go), unmapped when the run is over; fault is
	// the error of a worker that found one shrunk under it.
	maps  []*mapping
	fault error
}

// mapMin is the smallest file the workers map: none unless nothing the run reports outlives
// its reporting (Options.Transient), as the mappings go with the run.
func (p *puller) mapMin() int64 {
	if !p.r.opts.Transient {
		return 0
	}
	return cmp.Or(p.r.opts.mapMin, minMapped)
}

// recoverFault, deferred by a worker, turns the fault of reading a mapped file that shrank
// (SIGBUS past its new end) into the run's error; any other panic goes on.
func (p *puller) recoverFault() {
	e := recover()
	if e == nil {
		return
	}
	if f, ok := e.(interface{ Addr() uintptr }); ok {
		p.mu.Lock()
		for _, m := range p.maps {
			if m.holds(f.Addr()) && p.fault == nil {
				p.fault = m.faultError()
			}
		}
		found := p.fault != nil
		p.mu.Unlock()
		if found {
			p.r.cancel()
			return
		}
	}
	panic(e)
}

// unmap unmaps the files mapped, once the workers are done, and returns the fault a worker
// met, if any.
func (p *puller) unmap() error {
	for _, m := range p.maps {
		unmapFile(m.data)
	}
	p.maps = nil
	return p.fault
}

// next returns the next chunk to evaluate, or false when there is none left.
func (p *puller) next() (*chunk, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.r
	for len(p.queue) == 0 {
		if r.ctx.Err() != nil || p.fi >= len(r.files) {
			p.closeFile()
			return nil, false
		}
		name := r.files[p.fi]
		switch {
		case !p.opened:
			p.opened = true
			p.c = p.fr.open(r.ctx, name, r.opts.Stdin, r.pool, p.enqueue, p.mapMin())
			if p.c != nil && p.c.mapped != nil {
				p.maps = append(p.maps, p.c.mapped)
			}
		case p.c != nil && p.c.step():
		default:
			p.closeFile()
			p.enqueue(&chunk{file: name, last: true})
			p.fi, p.part, p.opened = p.fi+1, 0, false
		}
	}
	c := p.queue[0]
	p.queue = p.queue[1:]
	// Taken as it is handed out, not as it is cut: a chunk waiting in the queue while its
	// reader waits for the writer could be the one the writer waits for.
	var ok bool
	if c.front, ok = r.flow.take(c.at.file); !ok {
		return nil, false
	}
	return c, true
}

// closeFile closes the file being read, if one is open.
func (p *puller) closeFile() {
	if p.c != nil {
		p.c.close()
		p.c = nil
	}
}

// enqueue is the cutter's send: it places the chunk in the output order and queues it.
func (p *puller) enqueue(c *chunk) bool {
	c.at = place{p.fi, p.part}
	p.part++
	p.queue = append(p.queue, c)
	return true
}

func newRunner(ctx context.Context, set *Set, files []string, threads int, opts Options, emit func(*Detection) error) *runner {
	r := &runner{ctx: ctx, set: set, files: files, opts: opts, emit: emit, pending: map[place]*result{},
		chunks: make(chan *chunk, threads), results: make(chan *result, threads*2)}
	// Chunks in flight, per file being written out and for the files after it: enough that a
	// worker rarely waits on the writer, whose pace varies with the output's (a file's page
	// cache, a pipe), and few enough that memory stays flat.
	ahead := max(threads*3, 8)
	r.flow = newFlow(ahead)
	context.AfterFunc(ctx, r.flow.close)
	if opts.Transient {
		// Up to the chunks in flight and, per reader, the one being filled and one being
		// handed over can be out of the pool.
		r.pool = make(chan []byte, 2*ahead+2*threads)
	}
	if emit == nil || opts.Transient {
		r.spent = make(chan *result, 2*ahead+2)
	}
	return r
}

// read starts the readers, which take the files in turn.
func (r *runner) read(readers int) {
	var nextFile atomic.Int64
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fr fileReader
			for {
				fi := int(nextFile.Add(1) - 1)
				if fi >= len(r.files) || r.ctx.Err() != nil {
					return
				}
				if !r.readFile(&fr, fi) {
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(r.chunks) }()
}

// readFile sends the chunks of file fi, then its end, which lets the output go on to the next
// file. It reports false when the run is over.
func (r *runner) readFile(fr *fileReader, fi int) bool {
	part := 0
	send := func(c *chunk) bool {
		var ok bool
		if c.front, ok = r.flow.take(fi); !ok {
			return false
		}
		c.at = place{fi, part}
		part++
		select {
		case r.chunks <- c:
			return true
		case <-r.ctx.Done():
			return false
		}
	}
	fr.read(r.ctx, r.files[fi], r.opts.Stdin, r.pool, send)
	return send(&chunk{file: r.files[fi], last: true})
}

// evaluate starts the workers.
func (r *runner) evaluate(threads int) {
	// With a core to spare for the readers and the writer, each worker keeps a thread of its
	// own: otherwise the scheduler moves it to whichever thread woke it, and the caches it
	// warmed (the rules, the index) are left on the other core. One worker on two cores took
	// 16% less time so. With no core to spare, threads of their own only add switches between
	// them and the readers' (17% more time with two workers on two cores), unless the
	// workers read and write for themselves: then there is one worker per core and nothing
	// else to run.
	procs := runtime.GOMAXPROCS(0)
	pin := threads < procs || r.pull != nil && threads == procs
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.pull != nil && r.pull.mapMin() > 0 {
				// A mapped file that shrinks faults where it is read: the run stops with an
				// error rather than the program.
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer r.pull.recoverFault()
			}
			if pin {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			w := newWorker(r.set)
			w.keepAll = r.emit != nil
			w.shown = shownPrograms(r.set, r.opts.MinLevel)
			w.spent = r.spent
			if r.opts.Output != nil {
				w.render, _ = newRenderer(r.opts.Output.format) // the Writer's format is valid
			}
			for {
				var c *chunk
				var ok bool
				if r.pull != nil {
					c, ok = r.pull.next()
				} else {
					c, ok = <-r.chunks
				}
				if !ok {
					break
				}
				res := w.process(c)
				if r.pull != nil {
					r.put(res)
					continue
				}
				select {
				case r.results <- res:
				case <-r.ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(r.results) }()
}

// collect waits for the workers, reporting the results they send in input order, and
// returns the first error reporting met.
func (r *runner) collect() error {
	for res := range r.results {
		r.put(res)
	}
	return r.werr
}

// put files a result and reports every result now next in input order, unless another
// goroutine is reporting (it then reports this one too). On an error it cancels the run and
// reports nothing more.
func (r *runner) put(res *result) {
	r.omu.Lock()
	r.pending[res.at] = res
	if r.writing {
		r.omu.Unlock()
		return
	}
	r.writing = true
	for {
		res, ok := r.pending[r.next]
		if !ok {
			break
		}
		delete(r.pending, r.next)
		r.next.part++
		if res.last {
			r.next = place{r.next.file + 1, 0}
			r.flow.advance(r.next.file)
		}
		r.omu.Unlock()
		r.flow.give(res.front)
		if r.werr == nil {
			if r.werr = r.em.result(res); r.werr != nil {
				r.cancel()
			}
		}
		r.recycle(res)
		r.omu.Lock()
	}
	r.writing = false
	r.omu.Unlock()
}

// recycle gives a reported result's buffers back for reuse, where nothing keeps them.
func (r *runner) recycle(res *result) {
	if res.mapped != nil {
		res.mapped.reported(res.end)
	}
	if r.pool != nil && res.buf != nil {
		select {
		case r.pool <- res.buf:
		default:
		}
	}
	if r.spent != nil {
		select {
		case r.spent <- res:
		default:
		}
	}
}

// shownPrograms tells, per program of the set, whether its detections are reported: its rule
// generates detections of its own, at or above the minimum level.
func shownPrograms(set *Set, minLevel string) []bool {
	minRank := levelRank(minLevel)
	shown := make([]bool, len(set.Programs))
	for i, p := range set.Programs {
		shown[i] = p.generate && levelRank(p.Level) >= minRank
	}
	return shown
}

// emitter reports the results of chunks in input order: it feeds the correlations, writes the
// workers' formatted output with the correlation detections spliced in where they complete,
// and counts.
type emitter struct {
	set     *Set
	corr    *corrRun
	st      *Stats
	out     *Writer
	emit    func(*Detection) error
	minRank int
	byProg  []int64 // detections per program index, made into Stats.ByRule at the end
}

func (em *emitter) result(r *result) error {
	st := em.st
	st.Events += r.events
	st.Bytes += r.bytes
	for _, e := range r.errs {
		st.addErr(e)
	}
	for _, pi := range r.hits {
		em.byProg[pi]++
	}
	written := 0 // r.lines are written up to here
	for i := range r.dets {
		d := &r.dets[i]
		if d.shown && em.emit != nil {
			if err := em.emit(d); err != nil {
				return err
			}
		}
		for _, o := range em.corr.feed(d) {
			if levelRank(o.Level) < em.minRank {
				continue
			}
			st.Detections++
			st.ByLevel[o.Level]++
			st.ByRule[o.Program]++
			if em.out != nil {
				if err := em.lines(r, written, d.line); err != nil {
					return err
				}
				written = d.line
				if err := em.out.Write(o); err != nil {
					return err
				}
			}
			if em.emit != nil {
				if err := em.emit(o); err != nil {
					return err
				}
			}
		}
	}
	if em.out != nil {
		return em.lines(r, written, len(r.lines))
	}
	return nil
}

// lines writes out the formatted lines r.lines[from:to].
func (em *emitter) lines(r *result, from, to int) error {
	start := 0
	if from > 0 {
		start = r.lines[from-1].end
	}
	for _, l := range r.lines[from:to] {
		if err := em.out.writeLine(r.out[start:l.end], l.verbatim); err != nil {
			return err
		}
		start = l.end
	}
	return nil
}

// finish adds the per-program counts to the stats.
func (em *emitter) finish() {
	for pi, n := range em.byProg {
		if n > 0 {
			p := em.set.Programs[pi]
			em.st.Detections += n
			em.st.ByLevel[p.Level] += n
			em.st.ByRule[p] += n
		}
	}
}

func (s *Stats) addErr(e ReadError) {
	s.ErrorCount++
	if len(s.Errors) < maxKeptErrors {
		s.Errors = append(s.Errors, e)
	}
}

// levels in increasing order of severity.
var levels = []string{"informational", "low", "medium", "high", "critical"}

func levelRank(l string) int {
	for i, x := range levels {
		if x == l {
			return i
		}
	}
	if l == "" {
		return 0
	}
	return len(levels) // unknown levels are always shown
}

// worker parses and evaluates the events of chunks.
type worker struct {
	set     *Set
	shown   []bool // per program: its detections are reported (see shownPrograms)
	keepAll bool   // keep every detection in the result, not only those correlations need
	// render, when set, formats the detections shown into the result.
	render  renderer
	spent   chan *result // results to reuse (see Run)
	ev      Event
	det     Detection // the detection being made (see evaluate)
	colText [6][]byte // the timeline columns of the event being evaluated (see Detection.colText)
	lines   bool      // the chunk being processed is lines (its events hold no '\n')
	matches []int
	intern  interner // the strings of correlation keys
	// visit, when set, receives each event instead of the set's evaluation; it returns false
	// to stop reading.
	visit func(e *Event) bool
	stop  bool
	// rec and inArray locate the event being evaluated for visit: the record (line or
	// document) holding it, and whether it is an element of an array there (then e.Record is
	// its position in the array).
	rec     int64
	inArray bool
}

func newWorker(set *Set) *worker {
	return &worker{set: set, shown: shownPrograms(set, ""), keepAll: true}
}

func (w *worker) process(c *chunk) *result {
	var r *result
	select {
	case r = <-w.spent: // never ready when spent is nil
		*r = result{dets: r.dets[:0], hits: r.hits[:0], lines: r.lines[:0], out: r.out[:0], keys: r.keys[:0]}
	default:
		r = &result{}
	}
	r.at, r.last, r.front, r.errs, r.bytes, r.buf = c.at, c.last, c.front, c.errs, c.bytes, c.buf
	r.mapped, r.end = c.mapped, c.end
	d := c.data
	w.lines = !c.multi
	if c.multi {
		rec := c.first
		for i, _ := skipLabels(d, 0, true); i < len(d) && !w.stop; i, _ = skipLabels(d, i, true) {
			end, err := skipContainer(d, i)
			if err != nil {
				r.errs = append(r.errs, ReadError{File: c.file, Record: rec, Msg: "malformed JSON: " + err.Error()})
				break
			}
			w.doc(d[i:end], c.file, rec, r)
			rec++
			i = end
		}
		return r
	}
	rec := c.first
	for len(d) > 0 && !w.stop {
		var line []byte
		if nl := indexNL(d); nl >= 0 {
			line, d = d[:nl], d[nl+1:]
		} else {
			line, d = d, nil
		}
		i := skipWS(line, 0)
		if i < len(line) && line[i] == 'R' {
			i, _ = skipLabels(line, i, true) // evtx_dump's "Record <id>"
		}
		if i < len(line) {
			w.doc(line[i:], c.file, rec, r)
		}
		rec++
	}
	return r
}

// doc evaluates one document: an event, an array of events or a CloudTrail envelope. Events
// inside an array take their position in it as record number.
func (w *worker) doc(d []byte, file string, rec int64, r *result) {
	e := &w.ev
	e.reset(d, w.set.nslots)
	e.File = file
	w.rec, w.inArray = rec, false
	arr := recordsArray(d) // the usual envelope: Records is its first key
	if arr < 0 && d[0] == '[' {
		arr = 0
	}
	if arr < 0 {
		e.Record = rec
		if err := w.set.scan(e); err != nil {
			r.errs = append(r.errs, ReadError{File: file, Record: rec, Msg: "malformed JSON: " + err.Error()})
			return
		}
		if arr = w.set.lateRecords(e); arr < 0 {
			r.events++
			w.evaluate(e, r)
			return
		}
	}
	w.array(d, arr, file, rec, r)
}

// array evaluates the elements of the array at d[arr] as events.
func (w *worker) array(d []byte, arr int, file string, rec int64, r *result) {
	e := &w.ev
	w.inArray = true
	pos := int64(0)
	i := skipWS(d, arr+1)
	if i >= len(d) {
		r.errs = append(r.errs, ReadError{File: file, Record: rec, Msg: "malformed JSON: unterminated array"})
		return
	}
	if d[i] == ']' {
		return
	}
	for i < len(d) && !w.stop {
		e.Record = pos
		end, err := w.set.scanAt(e, i)
		if err != nil {
			r.errs = append(r.errs, ReadError{File: file, Record: rec, Msg: "malformed JSON in array element " + strconv.FormatInt(pos, 10) + ": " + err.Error()})
			return
		}
		r.events++
		w.evaluate(e, r)
		pos++
		i = skipWS(d, end)
		if i >= len(d) {
			r.errs = append(r.errs, ReadError{File: file, Record: rec, Msg: "malformed JSON: unterminated array"})
			return
		}
		if d[i] == ']' {
			return
		}
		if d[i] != ',' {
			r.errs = append(r.errs, ReadError{File: file, Record: rec, Msg: "malformed JSON: expected ',' or ']' in array"})
			return
		}
		i = skipWS(d, i+1)
	}
}

// recordsArray returns the offset of the '[' of a CloudTrail envelope {"Records": [...]}
// whose first key is Records, or -1. (Set.lateRecords finds the others.)
func recordsArray(d []byte) int {
	i := skipWS(d, 0)
	if i >= len(d) || d[i] != '{' {
		return -1
	}
	i = skipWS(d, i+1)
	const key = `"Records"`
	if len(d)-i < len(key) || string(d[i:i+len(key)]) != key {
		return -1
	}
	i = skipWS(d, i+len(key))
	if i >= len(d) || d[i] != ':' {
		return -1
	}
	i = skipWS(d, i+1)
	if i >= len(d) || d[i] != '[' {
		return -1
	}
	return i
}

func (w *worker) evaluate(e *Event, r *result) {
	if w.visit != nil {
		if !e.full {
			w.set.scanFull(e)
		}
		w.stop = !w.visit(e)
		return
	}
	w.matches = w.set.Match(e, w.matches[:0])
	if len(w.matches) == 0 {
		return
	}
	var cols Detection // once per event, shared by its detections
	if w.keepAll || w.set.corr.anyBase(w.matches) {
		w.set.fill(&cols, e)
	} else {
		// The detections are rendered here and dropped before the next event: their columns
		// can stay the event's bytes, where strings would cost an allocation per event.
		for col := range w.colText {
			w.colText[col] = w.set.column(e, col)
		}
		cols.colText = &w.colText
	}
	timed := false
	// An event read from a line holds no '\n'; a '\r' is rare (white space between tokens)
	// but possible. Looked for once per detected event, here in the worker, rather than over
	// every chunk in the reader; the writer then need not look through the event at all.
	flat := w.lines && bytes.IndexByte(e.Raw, '\r') < 0
	for _, pi := range w.matches {
		// The chunk's bytes are not reused before the detection is reported. d is the
		// worker's: a local one would escape to the renderer, one allocation per detection.
		d := &w.det
		*d = w.set.detection(&cols, pi, e)
		d.flat = flat
		d.shown = w.shown[pi]
		if d.shown {
			r.hits = append(r.hits, int32(pi))
			if w.render != nil {
				var verbatim []byte
				r.out, verbatim = w.render.append(r.out, d)
				r.lines = append(r.lines, formatted{len(r.out), verbatim})
			}
		}
		d.line = len(r.lines)
		start := len(r.keys)
		r.keys = w.set.corr.appendKeys(r.keys, pi, e, &w.intern)
		d.corr = r.keys[start:len(r.keys):len(r.keys)]
		if len(d.corr) > 0 && !timed {
			// Parsed once per event, into cols, which the event's later detections copy.
			cols.at, cols.atOK = parseTime(cols.Timestamp)
			d.at, d.atOK, timed = cols.at, cols.atOK, true
		}
		if w.keepAll || len(d.corr) > 0 {
			r.dets = append(r.dets, *d)
		}
	}
}

// detection is program pi's detection of event e, with the timeline columns of cols.
func (s *Set) detection(cols *Detection, pi int, e *Event) Detection {
	p := s.Programs[pi]
	d := *cols
	d.Program, d.RuleID, d.Title, d.Level = p, p.Rule.ID, p.Rule.Title, p.Level
	d.File, d.Record = e.File, e.Record
	d.Event = json.RawMessage(e.Raw)
	return d
}

func indexNL(d []byte) int { return bytes.IndexByte(d, '\n') }
