import sys, json, io, html, time, unicodedata, re
sys.path.insert(0, "/work/main")
from portal.integrations import pdf
from pypdf import PdfReader
from portal.domain.validation import _CONTROL
pdf.BASE_CSS += "body { font-variant-ligatures: none; } p { white-space: nowrap; }"
PUNCT = set(" .'-,\u2019")
def clean(s):
    v = unicodedata.normalize("NFC", s)
    v = " ".join(_CONTROL.sub(" ", v).split())
    if not v or len(v) > 100: return None
    if not any(unicodedata.category(c).startswith("L") for c in v): return None
    if any(not (unicodedata.category(c)[0] in "LM" or c in PUNCT) for c in v): return None
    return v
blns = json.load(open("/work/shared/data/blns/blns.json"))
names = [n for n in map(clean, blns) if n]
names += ["José Nguyễn Văn An", "María José Peña", "김민준", "王小明", "Đặng Thị Thu Hà", "Zoë O’Brien-Smith"]
t=time.perf_counter(); bad=[]
for i in range(0, len(names), 20):
    chunk = names[i:i+20]
    body = "".join(f"<p>{html.escape(n)}</p>" for n in chunk)
    doc = pdf.render(f"<html><body>{body}</body></html>")
    lines = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(doc)).pages).split("\n")
    bad += [n for n in chunk if n not in lines]
print(len(names), "accepted names", round(time.perf_counter()-t,1), "s;", len(bad), "not exact")
for n in bad: print(repr(n), [unicodedata.name(c, '?') for c in n][:4])
