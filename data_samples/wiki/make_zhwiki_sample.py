"""Regenerate zhwiki-sample.xml.bz2: hand-written Chinese pages in the exact MediaWiki export 0.10 layout.

The text is our own (not copied from Wikipedia), mixing Traditional and Simplified as zhwiki does.
Run: python data_samples/wiki/make_zhwiki_sample.py
"""

import bz2
import hashlib
from pathlib import Path
from xml.sax.saxutils import escape

SITEINFO = """  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>zhwiki</dbname>
    <base>https://zh.wikipedia.org/wiki/Wikipedia:%E9%A6%96%E9%A1%B5</base>
    <generator>MediaWiki 1.43.0-wmf.5</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="-2" case="first-letter">Media</namespace>
      <namespace key="-1" case="first-letter">Special</namespace>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Talk</namespace>
      <namespace key="2" case="first-letter">User</namespace>
      <namespace key="4" case="first-letter">Wikipedia</namespace>
      <namespace key="6" case="first-letter">File</namespace>
      <namespace key="10" case="first-letter">Template</namespace>
      <namespace key="12" case="first-letter">Help</namespace>
      <namespace key="14" case="first-letter">Category</namespace>
      <namespace key="100" case="first-letter">Portal</namespace>
      <namespace key="828" case="first-letter">Module</namespace>
    </namespaces>
  </siteinfo>
"""

PAGES = [
    # (title, ns, page id, redirect target or None, revision id, timestamp, wikitext)
    ("道格拉斯·亚当斯", 0, 1001, None, 80000101, "2024-03-02T08:15:00Z", """{{Infobox writer
| name = 道格拉斯·亞當斯
| image = Douglas adams portrait.jpg
| birth_date = {{birth date|1952|3|11}}
| occupation = [[作家]]、[[編劇]]
}}
'''道格拉斯·諾爾·亞當斯'''（{{lang|en|Douglas Noël Adams}}，1952年3月11日－2001年5月11日）是[[英國]][[作家]]、[[幽默]]作家與廣播劇[[編劇]]，以[[銀河便車指南|《銀河便車指南》]]系列聞名。<ref>{{cite book |title=Don't Panic |publisher=Titan |year=2003}}</ref>

__TOC__
== 生平 ==
亞當斯生於[[英格蘭]][[劍橋]]，後來進入[[劍橋大學]]聖約翰學院讀書<ref name="cam">我們自己寫的註腳。</ref>。畢業後他曾為[[英國廣播公司|BBC]]寫稿，也當過保鑣和養雞場工人。<!-- 這段註釋不會出現在輸出中 -->

[[File:Douglas adams portrait.jpg|thumb|right|亞當斯在[[舊金山]]，2000年]]

1978年，他為[[BBC廣播4台]]寫成廣播劇《銀河便車指南》，之後改寫成小說，系列共五部。書中「-{zh-hans:计算机;zh-hant:電腦;}-」算出的答案是[[42 (数字)|42]]。

== 作品 ==
* 《[[銀河便車指南]]》（1979年）
* 《宇宙盡頭的餐廳》（1980年）
* 《生命、宇宙以及一切》（1982年）
{| class="wikitable"
|-
! 年份 !! 作品
|-
| 1979 || 銀河便車指南
|-
| 1980 || 宇宙盡頭的餐廳
|}

== 逝世 ==
2001年5月11日，亞當斯在[[美國]][[加利福尼亞州]]健身時因心臟病發作逝世，享年49歲。每年5月25日的「[[毛巾日]]」是讀者紀念他的日子。

== 参考文献 ==
{{reflist}}

== 外部連結 ==
* [https://example.org/adams 官方網站]

[[Category:英國作家]]
[[Category:科幻小說作家]]
[[en:Douglas Adams]]
[[ja:ダグラス・アダムズ]]
"""),
    ("银河便车指南", 0, 1002, None, 80000102, "2024-01-19T12:00:00Z", """{{Otheruses|subject=小说系列|other=同名广播剧|銀河便車指南 (廣播劇)}}
{{Infobox book
| name = 银河便车指南
| author = [[道格拉斯·亚当斯]]
}}
《'''银河便车指南'''》（{{lang-en|The Hitchhiker's Guide to the Galaxy}}）是[[英国]]作家[[道格拉斯·亚当斯|亚当斯]]创作的[[科幻小说|科幻]][[喜剧]]系列，最初是1978年的[[广播剧]]。<ref>自己写的参考说明。</ref>

== 情节 ==
地球人[[阿瑟·邓特]]在地球被拆除前几分钟，被朋友[[福特·大老爷]]带上了一艘外星飞船。两人随后遇到了总统[[赛法德·毕博布鲁克斯]]和他的“黄金之心”号。

书中一台超级电脑“深思”计算了七百五十万年，得出“生命、宇宙以及一切”的终极答案是'''42'''。

== 影响 ==
* “不要惊慌”（Don't Panic）成为流行语。
* 读者在每年5月25日庆祝[[毛巾日]]。
*: 这一天也叫“毛巾节”。

== 參見 ==
* [[道格拉斯·亚当斯]]

[[Category:科幻小说]]
[[en:The Hitchhiker's Guide to the Galaxy]]
"""),
    ("劍橋大學", 0, 1003, None, 80000103, "2023-11-05T03:40:11Z", """{{Infobox university|name=劍橋大學|established=1209年}}
'''劍橋大學'''（{{lang|en|University of Cambridge}}）是位於[[英格蘭]][[劍橋]]的一所[[公立大學|公立]][[研究型大學]]，成立於1209年，是英語世界中第二古老的大學。<ref>{{cite web|url=https://example.org/cam|title=校史}}</ref>

劍橋大學由三十多個[[學院]]組成，[[道格拉斯·亚当斯]]曾在其中的聖約翰學院就讀。

[[Category:英國大學]]
"""),
    ("英国", 0, 1004, None, 80000104, "2024-02-28T21:09:44Z", """{{Infobox country|common_name=英国}}
'''大不列颠及北爱尔兰联合王国'''，通称'''英国'''，是位于[[欧洲]]西北部的[[岛国]]，由[[英格兰]]、[[苏格兰]]、[[威尔士]]和[[北爱尔兰]]组成，首都是[[伦敦]]。<ref name="un"/>

== 行政区划 ==
{| class="wikitable sortable"
|+ 构成国
! 构成国 !! 首府
|-
| 英格兰 || 伦敦
|-
| 苏格兰 || 爱丁堡
|}

== 參考資料 ==
<references>
<ref name="un">自己写的来源。</ref>
</references>
"""),
    ("科幻小說", 0, 1005, None, 80000105, "2023-08-14T10:00:00Z", """'''科幻小說'''是以[[科學]]設想為基礎的[[小說]]類型，常描寫[[未來]]、[[太空旅行]]與[[外星生命]]。

== 代表作 ==
# [[儒勒·凡爾納]]的《海底兩萬里》
# [[赫伯特·喬治·威爾斯]]的《時間機器》
# [[道格拉斯·亚当斯]]的《[[銀河便車指南]]》

== 相關條目 ==
* [[奇幻小說]]
"""),
    ("42 (数字)", 0, 1006, None, 80000106, "2024-04-01T00:00:00Z", """{{NumberInfobox|number=42}}
'''42'''是[[41]]与[[43]]之间的[[自然数]]。在[[道格拉斯·亚当斯]]的小说《[[银河便车指南]]》中，42是“生命、宇宙以及一切”的终极答案，因此它在[[程序员]]和科幻读者之间广为流传。

42 = 2 × 3 × 7，是一个[[过剩数]]。<math>42 = 2 \\times 3 \\times 7</math>
"""),
    ("道格拉斯·亞當斯", 0, 1007, "道格拉斯·亚当斯", 80000107, "2019-06-30T09:00:00Z",
     "#重定向 [[道格拉斯·亚当斯]]\n\n{{簡繁重定向}}"),
    ("亚当斯", 0, 1008, None, 80000108, "2022-12-12T12:12:12Z", """'''亚当斯'''可以指：
* [[道格拉斯·亚当斯]]，英国作家
* [[约翰·亚当斯]]，美国第二任总统
* [[亚当斯县]]

{{disambig}}
"""),
    ("Category:英國作家", 14, 1009, None, 80000109, "2021-05-05T05:05:05Z",
     "本分類收錄[[英國]]的作家。\n[[Category:作家]]"),
    ("银河系漫游指南", 0, 1010, "银河便车指南", 80000110, "2020-10-10T10:10:10Z",
     "#REDIRECT [[银河便车指南]]"),
    ("毛巾日", 0, 1011, None, 80000111, "2024-05-25T09:30:00Z", """'''毛巾日'''（{{lang|en|Towel Day}}）是每年5月25日紀念[[道格拉斯·亚当斯]]的節日，始於2001年。這一天，[[銀河便車指南]]的讀者會隨身帶著一條[[毛巾]]。

== 由來 ==
在小說中，毛巾被稱為「星際旅行者最有用的東西」。<ref>書中第三章，我們的轉述。</ref>
"""),
    ("Template:Disambig", 10, 1012, None, 80000112, "2018-01-01T00:00:00Z",
     "<noinclude>消歧義頁模板。</noinclude>{| class=\"metadata\"\n| 這是消歧義頁。\n|}"),
]


def sha1_base36(text: str) -> str:
    """MediaWiki's <sha1>: the SHA-1 of the UTF-8 text in base 36, zero-padded to 31 digits."""
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out.rjust(31, "0")


def page_xml(title, ns, page_id, redirect, rev_id, timestamp, text) -> str:
    redirect_line = f'    <redirect title="{escape(redirect, {chr(34): "&quot;"})}" />\n' if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n"
        f"{redirect_line}    <revision>\n      <id>{rev_id}</id>\n      <parentid>{rev_id - 7}</parentid>\n"
        f"      <timestamp>{timestamp}</timestamp>\n      <contributor>\n        <username>KnowforgeSample</username>\n"
        f"        <id>424242</id>\n      </contributor>\n      <comment>sample page written for knowforge tests</comment>\n"
        f"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode("utf-8"))}" xml:space="preserve">{escape(text)}</text>\n'
        f"      <sha1>{sha1_base36(text)}</sha1>\n    </revision>\n  </page>\n"
    )


def main() -> None:
    head = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ '
        'http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="zh">\n'
    )
    xml = head + SITEINFO + "".join(page_xml(*page) for page in PAGES) + "</mediawiki>\n"
    out = Path(__file__).with_name("zhwiki-sample.xml.bz2")
    out.write_bytes(bz2.compress(xml.encode("utf-8")))


if __name__ == "__main__":
    main()
