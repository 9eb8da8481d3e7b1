"""cnnlab.report: the HTML page of a document (escaping, self-contained), tables, figures as real PNGs."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from cnnlab.doc import write
from cnnlab.doc.blocks import Code, Figure, Heading, Paragraph
from cnnlab.doc.cells import value_table
from cnnlab.report import markdown_table, render_page, text_table, write_page
from cnnlab.report import figures

VOID = {"meta", "img", "br", "hr", "link", "input"}


def _png(width=3, height=2) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (255, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


class _Collector(HTMLParser):
    """Records text, attributes and checks that every non-void tag is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.attrs, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Collector:
    parser = _Collector()
    parser.feed(page)
    parser.close()
    return parser


EVIL = '<script>alert("x")</script> & \'q\' "dq" </table>'


def _figure(tmp_path, png: bytes, caption: str = "") -> Figure:
    path = tmp_path / f"f{len(png)}.png"
    path.write_bytes(png)
    return Figure(str(path), caption)


def test_every_user_string_is_escaped_and_comes_back_as_text(tmp_path):
    page = render_page([Heading(EVIL), Paragraph(EVIL), Heading(EVIL), Paragraph(EVIL), Code(EVIL),
                        value_table([EVIL, "n"], [[EVIL, 1]]), _figure(tmp_path, _png(), EVIL)], footer=EVIL)
    assert "<script>" not in page
    parsed = _parse(page)
    assert parsed.errors == [] and parsed.stack == []
    text = "".join(parsed.text)
    # title, h3, paragraph, h4, paragraph, code, th, td, figcaption, footer
    assert text.count(EVIL) == 10
    alts = [v for tag, k, v in parsed.attrs if tag == "img" and k == "alt"]
    assert alts == [EVIL]


def test_figure_is_embedded_as_base64_png_and_decodes_to_the_same_bytes(tmp_path):
    png = _png(5, 4)
    page = render_page([Heading("t"), _figure(tmp_path, png, "cap")], footer="")
    parsed = _parse(page)
    srcs = [v for tag, k, v in parsed.attrs if tag == "img" and k == "src"]
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == png


def test_page_is_self_contained(tmp_path):
    page = render_page([Heading("t"), _figure(tmp_path, _png()), Paragraph("x")])
    parsed = _parse(page)
    for tag, key, value in parsed.attrs:
        if key in ("src", "href"):
            assert value.startswith("data:"), (tag, key, value)
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page


def test_figure_refuses_a_file_that_is_not_png(tmp_path):
    with pytest.raises(ValueError, match="PNG"):
        render_page([_figure(tmp_path, b"GIF89a....")])


def test_the_page_is_the_html_writer_s_document_with_a_frame():
    blocks = [Heading("t", level=1), Paragraph("x"), Heading("s", level=2), value_table(["a"], [[1]])]
    page = render_page(blocks, footer="")
    assert write(blocks, "html").rstrip("\n") in page
    assert "<title>t</title>" in page and page.count("<h1>") == 1 and page.count("<h2>") == 1
    assert ".cnnlab-doc h1{" in page and ".cnnlab-doc h2{" in page  # the page styles the title and sections


def test_table_cells_numbers_right_aligned_and_formatted():
    page = render_page([value_table(["a", "b", "c"], [["x", 0.123456, None], ["y", 7, True]])], footer="")
    assert '<td class="num">0.1235</td>' in page and '<td class="num">7</td>' in page
    assert "<td>-</td>" in page and "<td>yes</td>" in page


def test_table_row_of_wrong_length_is_a_bug():
    with pytest.raises(ValueError):
        value_table(["a", "b"], [[1]])
    with pytest.raises(ValueError):
        text_table(["a", "b"], [[1, 2, 3]])


def test_render_is_deterministic_without_footer(tmp_path):
    blocks = [Heading("t"), Paragraph("x"), value_table(["a"], [[1]])]
    path = write_page(tmp_path / "sub" / "r.html", blocks, footer="")
    assert path.read_text(encoding="utf-8") == render_page(blocks, footer="")
    assert render_page(blocks).count("Written by cnnlab") == 1


def test_unicode_survives(tmp_path):
    path = write_page(tmp_path / "r.html", [Heading("Ünïcode σ²/N"), Paragraph("±3 px")], footer="")
    text = path.read_text(encoding="utf-8")
    assert "Ünïcode σ²/N" in text and "±3 px" in text and 'charset="utf-8"' in text


def test_text_table_aligns_numbers_right():
    out = text_table(["model", "params"], [["logreg", 7850], ["small-cnn", 21840]])
    lines = out.splitlines()
    assert lines[0] == "model      params"
    assert lines[2] == "logreg       7850"
    assert lines[3] == "small-cnn   21840"
    assert len({len(line) for line in lines}) == 1


def test_markdown_table_escapes_pipes_and_marks_numeric_columns():
    out = markdown_table(["m", "acc"], [["a|b", 0.5], ["c", None]])
    assert out.splitlines() == ["| m | acc |", "|---|---:|", "| a\\|b | 0.5000 |", "| c | - |"]


# --- figures -------------------------------------------------------------------------


def _png_size(path):
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


def test_learning_curves_writes_a_png(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 1 - 0.1 / e,
                "val_accuracy": 1 - 0.12 / e} for e in (1, 2, 3)]
    path = figures.learning_curves({"mlp": history, "cnn": history[:2]}, tmp_path / "lc.png")
    w, h = _png_size(path)
    assert w > 400 and h > 200


def test_coefficient_images(tmp_path):
    rng = np.random.default_rng(0)
    path = figures.coefficient_images(rng.normal(size=(10, 28, 28)), [str(i) for i in range(10)], tmp_path / "c.png")
    w, h = _png_size(path)
    assert w > 500 and h > 200


def test_accuracy_bars_and_image_grid(tmp_path):
    p1 = figures.accuracy_bars(["a", "b"], {"clean": [0.9, 0.8], "shifted": [0.5, None]}, tmp_path / "b.png")
    rng = np.random.default_rng(0)
    p2 = figures.image_grid(rng.random((6, 1, 8, 8)), tmp_path / "g.png", titles=list("abcdef"), ncols=3)
    p3 = figures.image_grid(rng.random((2, 3, 8, 8)), tmp_path / "rgb.png")
    for p in (p1, p2, p3):
        assert min(_png_size(p)) > 50
    with pytest.raises(ValueError):
        figures.accuracy_bars(["a", "b"], {"clean": [0.9]}, tmp_path / "bad.png")


def test_figures_embed_in_a_page(tmp_path):
    path = figures.accuracy_bars(["a"], {"clean": [0.9]}, tmp_path / "b.png")
    page = render_page([Heading("t"), Figure(str(path), "bars")])
    assert base64.b64encode(path.read_bytes()).decode() in page
