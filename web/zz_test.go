package web
import ("testing";"os";"fmt";"time";"github.com/ruleatlas/ruleatlas/store")
func TestZZReal(t *testing.T) {
	p := os.Getenv("ZZDB")
	st, err := store.Open(p)
	if err != nil { t.Skip(err) }
	t0 := time.Now()
	if err := st.Warm(); err != nil { t.Fatal(err) }
	fmt.Println("warm", time.Since(t0))
	stats, _ := st.Stats()
	fmt.Printf("%+v\n", stats.Platforms)
	s := New(st, Options{})
	for _, u := range []string{"/", "/rules", "/rules?q=powershell", "/attack", "/rules?q=CreateUser"} {
		t0 := time.Now()
		res, body := get(t, s, u)
		fmt.Println(u, res.StatusCode, len(body), time.Since(t0))
		os.WriteFile("/tmp/zz"+fmt.Sprint(len(u))+".html", []byte(body), 0o644)
	}
	r, _ := st.Search(store.Query{PerPage: 500, NoFacets: true})
	var worst time.Duration; var wid string; n := 0
	for _, sum := range r.Rules {
		t0 := time.Now()
		res, _ := get(t, s, "/rules/"+sum.ID)
		d := time.Since(t0)
		if res.StatusCode != 200 { t.Errorf("%s %d", sum.ID, res.StatusCode) }
		if d > worst { worst, wid = d, sum.ID }
		n++
	}
	fmt.Println("rule pages", n, "worst", worst, wid)
}
func TestZZOne(t *testing.T) {
	st, err := store.Open(os.Getenv("ZZDB"))
	if err != nil { t.Skip(err) }
	s := New(st, Options{})
	_, body := get(t, s, "/rules/"+os.Getenv("ZZID"))
	os.WriteFile("/tmp/zzrule.html", []byte(body), 0o644)
}
