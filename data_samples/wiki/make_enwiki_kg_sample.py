"""Regenerate enwiki-kg-sample.xml.bz2: hand-written English pages in the MediaWiki export 0.10 layout.

The text is our own (not copied from Wikipedia), written in an encyclopedic style about entities of
``data_samples/wikidata/wikidata-sample.json.bz2``, so that the English KG2Instruction pipeline has more
pages than the three topical ones of ``enwiki-sample.xml.bz2`` (real enwiki text). The facts are
well known; sentences that co-mention entities without stating a fact between them are deliberate.
Run: python data_samples/wiki/make_enwiki_kg_sample.py
"""

import bz2
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_zhwiki_sample import SITEINFO, page_xml  # noqa: E402  (the export layout is shared)

PAGES = [
    ("Douglas Adams", 0, 2001, None, 90000101, "2024-03-02T08:15:00Z", """{{Infobox writer
| name = Douglas Adams
| birth_date = {{birth date|1952|3|11|df=y}}
}}
'''Douglas Noël Adams''' (11 March 1952 – 11 May 2001) was an English author, screenwriter and humorist, best known for ''[[The Hitchhiker's Guide to the Galaxy]]''.

== Early life ==
Adams was born in [[Cambridge]], England, to Christopher Douglas Adams and Janet Adams. He was educated at [[Brentwood School (Essex)|Brentwood School]] and then studied English literature at [[St John's College, Cambridge|St John's College]], a college of the [[University of Cambridge]].

== Career ==
After Cambridge he moved to [[London]], where he wrote sketches for radio and television. ''The Hitchhiker's Guide to the Galaxy'' began as a radio comedy broadcast by the BBC in 1978; Adams later turned it into a series of five novels.

== Personal life ==
Adams married [[Jane Belson]] in 1991. He was a citizen of the United Kingdom and lived in Islington for many years.

He died of a heart attack on 11 May 2001 in [[Santa Barbara, California|Santa Barbara]], aged 49. His ashes were buried in [[Highgate Cemetery]] in north London.
"""),
    ("The Hitchhiker's Guide to the Galaxy", 0, 2002, None, 90000201, "2024-03-02T08:16:00Z", """'''''The Hitchhiker's Guide to the Galaxy''''' is a comedy science fiction franchise created by [[Douglas Adams]]. It began as a radio series in the United Kingdom in 1978.

The story follows Arthur Dent, an Englishman from a village in the West Country, who escapes the destruction of the Earth with his friend Ford Prefect. The franchise was written by Adams over several years and has been adapted for the stage, television and film.
"""),
    ("University of Cambridge", 0, 2003, None, 90000301, "2024-03-02T08:17:00Z", """The '''University of Cambridge''' is a public research university in [[Cambridge]], England. Founded in 1209, it is the second-oldest university in the English-speaking world.

The university is made up of 31 colleges, among them [[St John's College, Cambridge|St John's College]], where the writer [[Douglas Adams]] studied. Cambridge University has close ties with the nearby city of [[London]].
"""),
    ("United Kingdom", 0, 2004, None, 90000401, "2024-03-02T08:18:00Z", """The '''United Kingdom of Great Britain and Northern Ireland''', commonly known as the '''United Kingdom''' or '''Britain''', is a country in north-western [[Europe]]. It is made up of four countries: [[England]], [[Scotland]], [[Wales]] and [[Northern Ireland]]. Its capital is [[London]].

The United Kingdom has an area of 242,495 km2. England is the largest of its four countries, and London is also the largest city of England.
"""),
    ("London", 0, 2005, None, 90000501, "2024-03-02T08:19:00Z", """'''London''' is the capital and largest city of [[England]] and the [[United Kingdom]]. It lies on the River Thames in the south-east of England.

Greater London covers an area of 1,572 km2. The city is home to many universities, although the [[University of Cambridge]] lies some 80 km to the north, in [[Cambridge]].
"""),
    ("Steffi Graf", 0, 2006, None, 90000601, "2024-03-02T08:20:00Z", """'''Stefanie Maria Graf''' (born 14 June 1969), known as '''Steffi Graf''', is a German former professional tennis player. She was born in [[Mannheim]], [[West Germany]].

Graf won 22 Grand Slam singles titles. She has been married to the American tennis player [[Andre Agassi]] since 2001, and the couple live in [[Las Vegas]], [[Nevada]].
"""),
    ("George Orwell", 0, 2007, None, 90000701, "2024-03-02T08:21:00Z", """'''Eric Arthur Blair''' (25 June 1903 – 21 January 1950), known by his pen name '''George Orwell''', was an English novelist, essayist and critic. He is best known for the allegorical novella ''[[Animal Farm]]'' (1945) and the dystopian novel ''[[Nineteen Eighty-Four]]'' (1949).

Orwell was born in Motihari, in British India, and was educated at [[Eton College]] in England. He fought in the Spanish Civil War and later worked for the BBC in London.

Orwell died of tuberculosis in [[London]] on 21 January 1950. Both of his best-known books were published by [[Secker and Warburg]].
"""),
    ("Nineteen Eighty-Four", 0, 2008, None, 90000801, "2024-03-02T08:22:00Z", """'''''Nineteen Eighty-Four''''' (also published as '''''1984''''') is a dystopian novel by the English writer [[George Orwell]]. It was published on 8 June 1949 by [[Secker and Warburg]] as Orwell's ninth and final book completed in his lifetime.

The story is set in Airstrip One, a province of the superstate Oceania, in a world of perpetual war. Like ''[[Animal Farm]]'', the novel draws on Orwell's view of the [[Soviet Union]] under [[Joseph Stalin]].
"""),
    ("Andorra la Vella", 0, 2009, None, 90000901, "2024-03-02T08:23:00Z", """'''Andorra la Vella''' is the capital of the Principality of [[Andorra]]. It lies high in the east of the [[Pyrenees]], between [[France]] and [[Spain]].

At an elevation of 1,023 metres, Andorra la Vella is the highest capital city in [[Europe]]. Most visitors come from Spain and France for shopping and skiing.
"""),
    ("Brooke Shields", 0, 2010, None, 90001001, "2024-03-02T08:24:00Z", """'''Brooke Christa Shields''' (born May 31, 1965) is an American actress and model. She was born in [[New York City]].

Shields was married to the tennis player [[Andre Agassi]] from 1997 to 1999. She later appeared on Broadway and on television in the [[United States]].
"""),
    ("Eton College", 0, 2011, None, 90001101, "2024-03-02T08:25:00Z", """'''Eton College''' is a boarding school for boys near Windsor in [[England]], founded in 1440 by King Henry VI. It is one of the best-known schools in the [[United Kingdom]].

Its former pupils include twenty British prime ministers and the writer [[George Orwell]], who won a scholarship to the school in 1917.
"""),
    ("Secker and Warburg", 0, 2012, None, 90001201, "2024-03-02T08:26:00Z", """'''Secker and Warburg''' (also '''Secker & Warburg''') is a British publishing house based in [[London]], in the [[United Kingdom]].

It published the first editions of [[George Orwell]]'s ''[[Animal Farm]]'' in 1945 and ''[[Nineteen Eighty-Four]]'' in 1949. Frederic Warburg ran the firm for many years.
"""),
]


def main() -> None:
    head = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ '
        'http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">\n'
    )
    siteinfo = SITEINFO.replace("zhwiki", "enwiki").replace("zh.wikipedia.org/wiki/Wikipedia:%E9%A6%96%E9%A1%B5",
                                                              "en.wikipedia.org/wiki/Main_Page")
    xml = head + siteinfo + "".join(page_xml(*page) for page in PAGES) + "</mediawiki>\n"
    out = Path(__file__).with_name("enwiki-kg-sample.xml.bz2")
    out.write_bytes(bz2.compress(xml.encode("utf-8")))


if __name__ == "__main__":
    main()
