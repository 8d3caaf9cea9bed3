"""Shapes for pandas and Jupyter: flat records, sweep columns, the report's HTML repr."""

import html


def _flatten(obj, prefix, out):
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        else:
            out[name] = value
    return out


def _row_lists(doc):
    return [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]


def to_records(doc, path=None):
    """A list of flat dicts (nested keys joined with "."), ready for pandas.DataFrame(...).

    A list gives one record per element. A dict with a "rows" list of objects (plan, compare), or
    the list `path` names (e.g. predict's "fit_by_device_count"), gives one record per element with
    the dict's other scalar fields repeated in each. Any other dict is one record (lists kept).
    """
    if isinstance(doc, list):
        return [_flatten(x, "", {}) if isinstance(x, dict) else {"value": x} for x in doc]
    if not isinstance(doc, dict):
        raise TypeError(f"to_records: expected a dict or a list, got {type(doc).__name__}")
    if path is None:
        if "rows" not in _row_lists(doc):
            return [_flatten(doc, "", {})]
        path = "rows"  # plan and compare: the table's rows
    if path not in doc or not isinstance(doc[path], list):
        raise KeyError(f"to_records: no list {path!r} in the document (lists: {', '.join(_row_lists(doc)) or 'none'})")
    common = _flatten({k: v for k, v in doc.items() if k != path and not isinstance(v, (list, dict))}, "", {})
    return [{**common, **_flatten(x, "", {})} for x in doc[path]]


class Sweep(dict):
    """predict_sweep's columns: name -> array.array, one entry per (batch, context)."""

    @property
    def rows(self):
        return len(self["batch"]) if "batch" in self else 0

    def to_records(self):
        names = list(self.keys())
        flags = {"runnable", "memory.fits"}

        def value(n, v):
            if n in flags:
                return bool(v)
            return None if isinstance(v, float) and v != v else v  # NaN: JSON's null

        return [{n: value(n, self[n][i]) for n in names} for i in range(self.rows)]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame({k: list(v) for k, v in self.items()})


class Report:
    """The capacity-planning report: .html (self-contained page), .data (the JSON document),
    .markdown. Shows inline in Jupyter, isolated in an iframe so its styles stay its own."""

    def __init__(self, html_text, data, markdown):
        self.html = html_text
        self.data = data
        self.markdown = markdown

    def _repr_html_(self):
        return ('<iframe style="width:100%;height:720px;border:0" srcdoc="' + html.escape(self.html, quote=True)
                + '"></iframe>')

    def to_records(self, path=None):
        return to_records(self.data, path)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)

    def __repr__(self):
        return f"<llmcost.Report: {len(self.html)} characters of HTML>"
