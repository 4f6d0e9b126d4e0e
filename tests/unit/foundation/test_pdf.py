"""The shared PDF pieces: text escaped (never markup), Chinese extractable, an empty table
says so, file names made safe."""

import io
import re

import pypdf

from services.common import pdf


def text_of(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def test_texts_are_printed_as_written_in_both_fonts():
    for language, label in (("zh", "标题"), ("en", "Title")):  # labels: in the language's font
        styles = pdf.styles(language)
        story = [
            pdf.text(f"{label} <b>title</b> & <unclosed", styles["title"]),
            pdf.text("第一行\n<para>second</para>", styles["cell"]),  # data: Chinese in either
            pdf.table(
                styles,
                [f"{label} <i>", "column"],
                [["值 & <x>", pdf.text("ready", styles["cell"])]],
                (60, 60),
                "-",
            ),
        ]
        text = text_of(pdf.build(story, "title"))
        assert f"{label}<b>title</b>&<unclosed" in text and f"{label}<i>" in text
        assert "第一行<para>second</para>" in text
        assert "值&<x>" in text and "ready" in text and "column" in text


def test_an_empty_table_says_none():
    styles = pdf.styles("en")
    text = text_of(pdf.build([pdf.table(styles, ["a", "b"], [], (40, 40), "nothing")], "t"))
    assert "nothing" in text


def test_file_name_parts_keep_only_safe_characters():
    assert pdf.filename_part("110101-L.1_a") == "110101-L.1_a"
    assert pdf.filename_part("Z1/../老城 区") == "Z1_.._____"
    assert pdf.filename_part("") == "_"
