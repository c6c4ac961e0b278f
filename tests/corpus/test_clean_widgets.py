"""clean's widget and listing rules: counters, pagination bars, search-result listings and whole-line
entries that trail dots, share-button names and blog gadget titles from the English word list, menu
entries of up to 48 characters (issue 16, session 5)."""


import pytest

from corpus.clean import CLEAN_MOSTLY_BOILERPLATE
from corpus.records import rejection
from corpus.repair import is_menu_entry, is_result_count, is_widget_line
from tests.corpus.test_clean_headlines import clean_web_text

ARTICLE = (
    "The harbour board voted on Monday to rebuild the old pier before the summer season begins.\n"
    "Engineers found that the timber piles had rotted further than the last survey suggested.\n"
    "Work will start in March, and the ferry will use the north quay until the pier reopens."
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("258 Shares", True),
        ("6 comments", True),
        ("• Likes: 2", True),
        ("1.2K views", True),
        ("Comments: 0", True),
        ("<< 1 2 3 4 5 >>", True),
        ("« Previous 1 2 3 Next »", True),
        ("Select All    Deselect All << 1 2 3 4 5 6 7 8 9 >>", True),
        ("1 | 2 | 3 | Next", True),
        ("Scores 3 1 4 next week", False),  # numbers that do not count up by one are not pages
        ("1 2 3 4 5 6 7 8 9 R H E", False),  # a line score's header has no arrow nor next/prev word
        ("258 people shared the post on Monday", False),  # a sentence, not a counter
        ("Page 2 of the report", False),
    ],
)
def test_widget_lines(line, expected):
    assert is_widget_line(line) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1-5 of 44 records found matching your query:", True),
        ("Results 1-10 of 230", True),
        ("Showing 1 out of a total of 1 results for community: Papers", True),
        ("44 results for 'harbour'", True),
        ("About 1,230 results found", True),
        ("She set 3 records for the school in a single season.", False),  # a bare count inside prose
        ("The harbour board voted 5-4 on Monday.", False),
    ],
)
def test_result_count_lines(line, expected):
    assert is_result_count(line) is expected


def test_a_search_results_page_is_rejected_as_mostly_boilerplate():
    rows = [f"Author {i}, A. A study of harbour silt number {i} {2000 + i} Coastal Journal {i} 1-9 details   url"
            for i in range(1, 7)]
    text = "\n".join(["Library catalogue", "1-6 of 60 records found matching your query:", "Display Options:",
                      "<< 1 2 3 4 5 >>", *rows, "Save Citations:", "Export Records:"]) + "\n" + ARTICLE
    doc, counters = clean_web_text(text)
    reject = rejection(doc)
    assert reject["reason"] == CLEAN_MOSTLY_BOILERPLATE
    # The count line, the options label, the header rows and the six rows go as one listing (menu);
    # the pagination bar as boilerplate; the article after the listing stays counted as text.
    assert doc["meta"]["clean"]["menu_lines"] == 1 + 1 + 6 + 2
    assert doc["meta"]["clean"]["boilerplate_lines"] == 1
    assert counters["clean_menu_lines"] == 10


def test_a_listing_ends_at_the_next_sentence():
    text = "\n".join(["44 results for 'pier'", "Pier repairs begin   details", "Ferry timetable changes   details",
                      ARTICLE])
    doc, _ = clean_web_text(text, max_furniture_ratio=None)
    assert doc["text"] == ARTICLE
    assert doc["meta"]["clean"]["menu_lines"] == 3


def test_a_result_count_inside_a_sentence_removes_nothing():
    text = "She set 3 records for the school in a single season, a mark no one has matched.\n" + ARTICLE
    doc, _ = clean_web_text(text)
    assert doc["text"] == text
    assert doc["meta"]["clean"]["menu_lines"] == 0


def test_extracted_articles_keep_counters_and_page_numbers():
    # In text a reader extracted from markup (a wiki article) a line is never a widget.
    text = ARTICLE + "\n6 comments\n<< 1 2 3 >>"
    doc, _ = clean_web_text(text, extracted_sources=("web",))
    assert doc["text"] == text


def test_counters_and_dotted_entries_go_as_boilerplate():
    text = ARTICLE + "\n258 Shares\n• Likes: 2\nYou may also like..."
    doc, counters = clean_web_text(text, max_furniture_ratio=None)
    assert doc["text"] == ARTICLE
    assert doc["meta"]["clean"]["boilerplate_lines"] == 3
    assert counters["clean_boilerplate_chars"] == len("258 Shares" "• Likes: 2" "You may also like...")


def test_counters_and_share_buttons_go_as_boilerplate():
    text = ARTICLE + "\n258 Shares\nBuffer\nPin\nReddit\nFlipboard\nYou may also like..."
    doc, counters = clean_web_text(text, max_furniture_ratio=None)
    assert doc["text"] == ARTICLE
    assert doc["meta"]["clean"]["boilerplate_lines"] == 6
    assert counters["clean_boilerplate_chars"] == len("258 Shares" "Buffer" "Pin" "Reddit" "Flipboard" "You may also like...")


def test_comment_form_and_blog_gadget_titles_go_as_boilerplate():
    text = "\n".join([ARTICLE, "Leave a Reply Cancel reply", "Follow by Email", "Random Posts", "Post a Comment"])
    doc, _ = clean_web_text(text, max_furniture_ratio=None, drop_trailing_lists=False)
    assert doc["text"] == ARTICLE
    assert doc["meta"]["clean"]["boilerplate_lines"] == 4


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Quality Roundtable @ Solar Power Southeast", True),  # 42 characters, six words
        ("Energy Storage North America Special 2018", True),
        ("Commercial installations of rooftop photovoltaics", False),  # 49 characters, five words
        ("Seven words make this line too long here", False),
    ],
)
def test_menu_entries_run_to_48_characters(line, expected):
    assert is_menu_entry(line) is expected


def test_a_menu_of_long_event_names_goes_as_one_block():
    menu = ["Events", "Quality Roundtable @ Solar Power Southeast", "Quality Roundtable @ Intersolar Europe",
            "Quality Roundtable @ All-Energy Australia", "Future PV Roundtable @ Intersolar EU", "Webinars"]
    doc, _ = clean_web_text("\n".join(menu) + "\n" + ARTICLE, max_furniture_ratio=None)
    assert doc["text"] == ARTICLE
    assert doc["meta"]["clean"]["menu_lines"] == len(menu)
