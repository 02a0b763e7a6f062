// Package live tells a page that what it shows has changed, as server-sent
// events: each journal event that passes a filter becomes one `change` event
// carrying only its sequence number, kind and system — never its ids or
// data, so a page that is not allowed to read the journal (a terminal's
// screen, a buyer's result page) learns only that it should redraw. Pages
// then fetch their own HTML again; the journal's full stream stays behind
// the control API (GET /_sim/events/stream).
package live

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/journal"
)

// Heartbeat is how often an idle stream sends a comment line. Wall time: it
// keeps proxies and browsers from closing an idle connection.
const Heartbeat = 15 * time.Second

// buffer is how many changes a stream may fall behind before it misses some
// (a page that misses one still redraws on the next).
const buffer = 64

// Stream serves changes matching f until the client goes or done closes.
func Stream(w http.ResponseWriter, r *http.Request, j *journal.Journal, f journal.Filter, done <-chan struct{}) {
	ch, cancel := j.Subscribe(f, buffer)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n: pspsim live %d\n\n", j.LastSeq())
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(Heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: change\ndata: {\"seq\":%d,\"system\":%q,\"kind\":%q}\n\n", e.Seq, e.Seq, e.System, e.Kind); err != nil || rc.Flush() != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-done:
			return
		}
	}
}

// Script is the plain JavaScript a page embeds to redraw itself: it listens
// to the stream at the URL in data-live on the element with id `live`,
// fetches the page again on each change (coalescing bursts) and swaps in the
// new content of every element marked data-live-part. Forms being typed in
// are left alone until they are submitted or left.
const Script = `<script>
(function(){
  var root=document.getElementById('live'); if(!root||!window.EventSource||!window.fetch) return;
  var url=root.getAttribute('data-live'), pending=null, busy=false;
  function typing(){var a=document.activeElement;return a&&(a.tagName==='INPUT'||a.tagName==='TEXTAREA'||a.tagName==='SELECT')&&a.value!=='';}
  function redraw(){
    pending=null; if(busy){pending=setTimeout(redraw,150);return;}
    if(typing()){pending=setTimeout(redraw,500);return;}
    busy=true;
    fetch(location.pathname+location.search.replace(/([?&])msg=[^&]*&?/,'$1'),{credentials:'same-origin',headers:{'Accept':'text/html'}}).then(function(r){return r.text();}).then(function(html){
      var doc=new DOMParser().parseFromString(html,'text/html');
      document.querySelectorAll('[data-live-part]').forEach(function(el){
        var n=doc.getElementById(el.id); if(n){el.innerHTML=n.innerHTML; for(var i=0;i<n.attributes.length;i++){el.setAttribute(n.attributes[i].name,n.attributes[i].value);}}
      });
      root.setAttribute('data-live-seq', String((+root.getAttribute('data-live-seq')||0)+1));
    }).catch(function(){}).then(function(){busy=false;});
  }
  var es=new EventSource(url);
  es.addEventListener('change',function(){ if(!pending) pending=setTimeout(redraw,100); });
  es.onopen=function(){root.setAttribute('data-live-state','open');};
  es.onerror=function(){root.setAttribute('data-live-state','retrying');};
})();
</script>`
