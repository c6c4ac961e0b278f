"""Write ``wikidata-sample.json.bz2``: a Wikidata JSON dump excerpt in the real dump framing.

The dump is a JSON array with one entity per line (``[`` first, lines ending in ``,``, ``]`` last).
``Q42.json`` and ``P279.json`` are real entities (Wikidata, CC0, via the qwikidata test data); the others
are written here in the same entity format with real QIDs and real, well-known statements, reduced to
the labels, aliases, sitelinks and claims that the zhwiki and enwiki sample pages need. The entities for
the enwiki pages (Andre Agassi, Andorra, Animal Farm and the pages of ``enwiki-kg-sample``) were written
from memory without network access: the statements are well-known facts, but a QID may differ from live
Wikidata. Run from the repository root: ``python data_samples/wikidata/make_sample.py``.
"""

import bz2
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def text(lang: str, value: str) -> dict:
    return {"language": lang, "value": value}


def claim(qid: str, prop: str, n: int, value: dict, datatype: str) -> dict:
    kind = {"wikibase-item": "wikibase-entityid", "time": "time", "quantity": "quantity"}[datatype]
    return {
        "mainsnak": {"snaktype": "value", "property": prop, "datavalue": {"value": value, "type": kind},
                     "datatype": datatype},
        "type": "statement", "id": f"{qid}${prop}-{n:04d}", "rank": "normal",
    }


def item_ref(target: str) -> dict:
    return {"entity-type": "item", "numeric-id": int(target[1:]), "id": target}


def year(y: int) -> dict:
    return {"time": f"+{y:04d}-00-00T00:00:00Z", "timezone": 0, "before": 0, "after": 0, "precision": 9,
            "calendarmodel": "http://www.wikidata.org/entity/Q1985727"}


def day(y: int, m: int, d: int) -> dict:
    return {"time": f"+{y:04d}-{m:02d}-{d:02d}T00:00:00Z", "timezone": 0, "before": 0, "after": 0, "precision": 11,
            "calendarmodel": "http://www.wikidata.org/entity/Q1985727"}


def amount(value: str, unit: str) -> dict:
    return {"amount": value, "unit": f"http://www.wikidata.org/entity/{unit}"}


def entity(qid, zh, en, *, zh_aliases=(), en_aliases=(), zhwiki=None, enwiki=None, items=(), times=(),
           quantities=()):
    claims: dict[str, list] = {}
    for prop, target in items:
        claims.setdefault(prop, []).append(claim(qid, prop, len(claims.get(prop, [])), item_ref(target),
                                                 "wikibase-item"))
    for prop, value in times:
        claims.setdefault(prop, []).append(claim(qid, prop, 0, value, "time"))
    for prop, value in quantities:
        claims.setdefault(prop, []).append(claim(qid, prop, 0, value, "quantity"))
    aliases = {}
    if zh_aliases:
        aliases["zh"] = [text("zh", a) for a in zh_aliases]
    if en_aliases:
        aliases["en"] = [text("en", a) for a in en_aliases]
    sitelinks = {}
    if zhwiki:
        sitelinks["zhwiki"] = {"site": "zhwiki", "title": zhwiki, "badges": []}
    if enwiki:
        sitelinks["enwiki"] = {"site": "enwiki", "title": enwiki, "badges": []}
    labels = {"en": text("en", en)}
    if zh:
        labels = {"zh": text("zh", zh), "zh-hans": text("zh-hans", zh), **labels}
    return {"type": "item", "id": qid, "labels": labels, "descriptions": {}, "aliases": aliases,
            "claims": claims, "sitelinks": sitelinks}


P31, P279, P17, P131, P36 = "P31", "P279", "P17", "P131", "P36"
KM2, METRE = "Q712226", "Q11573"
WRITTEN = [
    # classes
    entity("Q5", "人类", "human"),
    entity("Q6256", "国家", "country"),
    entity("Q3624078", "主权国家", "sovereign state", items=[(P279, "Q6256")]),
    entity("Q515", "城市", "city"),
    entity("Q1093829", "美国城市", "city in the United States", items=[(P279, "Q515")]),
    entity("Q1763527", "构成国", "constituent country", items=[(P279, "Q6256")]),
    entity("Q35657", "美国州份", "state of the United States"),
    entity("Q5107", "大洲", "continent"),
    entity("Q46831", "山脉", "mountain range"),
    entity("Q3918", "大学", "university"),
    entity("Q28640", "职业", "profession"),
    entity("Q7725634", "文学作品", "literary work"),
    entity("Q149537", "中篇小说", "novella", items=[(P279, "Q7725634")]),
    entity("Q196600", "媒体系列", "media franchise"),
    entity("Q2085381", "出版社", "publisher"),
    # places
    entity("Q145", "英国", "United Kingdom", zh_aliases=["大不列颠及北爱尔兰联合王国", "英國", "联合王国"],
           en_aliases=["UK", "Britain", "United Kingdom of Great Britain and Northern Ireland"],
           zhwiki="英国", enwiki="United Kingdom",
           items=[(P31, "Q6256"), (P36, "Q84"), ("P150", "Q21"), ("P150", "Q22"),
                  ("P150", "Q25"), ("P150", "Q26"), ("P30", "Q46")], quantities=[("P2046", amount("+242495", KM2))]),
    entity("Q46", "欧洲", "Europe", zhwiki="欧洲", enwiki="Europe", items=[(P31, "Q5107")]),
    entity("Q21", "英格兰", "England", zhwiki="英格兰", enwiki="England", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q22", "苏格兰", "Scotland", zhwiki="苏格兰", enwiki="Scotland", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q25", "威尔士", "Wales", zhwiki="威尔士", enwiki="Wales", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q26", "北爱尔兰", "Northern Ireland", zhwiki="北爱尔兰", enwiki="Northern Ireland",
           items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q84", "伦敦", "London", zh_aliases=["倫敦"], zhwiki="伦敦", enwiki="London",
           items=[(P31, "Q515"), (P17, "Q145"), (P131, "Q21")], quantities=[("P2046", amount("+1572", KM2))]),
    entity("Q350", "剑桥", "Cambridge", zh_aliases=["劍橋"], zhwiki="剑桥", enwiki="Cambridge",
           items=[(P31, "Q515"), (P17, "Q145")]),
    entity("Q35794", "剑桥大学", "University of Cambridge", zh_aliases=["劍橋大學"], en_aliases=["Cambridge University"],
           zhwiki="剑桥大学", enwiki="University of Cambridge",
           items=[(P31, "Q3918"), (P131, "Q350"), (P17, "Q145")], times=[("P571", year(1209))]),
    entity("Q30", "美国", "United States of America", zh_aliases=["美利坚合众国"],
           en_aliases=["United States", "USA", "U.S.", "US", "America"], zhwiki="美国", enwiki="United States",
           items=[(P31, "Q6256"), ("P30", "Q49")]),
    entity("Q99", "加利福尼亚州", "California", zh_aliases=["加州"], zhwiki="加利福尼亚州", enwiki="California",
           items=[(P31, "Q35657"), (P17, "Q30")]),
    entity("Q1227", "内华达州", "Nevada", zhwiki="内华达州", enwiki="Nevada", items=[(P31, "Q35657"), (P17, "Q30")]),
    entity("Q23768", "拉斯维加斯", "Las Vegas", zhwiki="拉斯维加斯", enwiki="Las Vegas",
           items=[(P31, "Q1093829"), (P17, "Q30")]),
    entity("Q794", "伊朗", "Iran", zhwiki="伊朗", enwiki="Iran", items=[(P31, "Q3624078")]),
    entity("Q183", "德国", "Germany", zhwiki="德国", enwiki="Germany", items=[(P31, "Q3624078"), ("P30", "Q46")]),
    entity("Q228", "安道尔", "Andorra", en_aliases=["Principality of Andorra", "Principality of the Valleys of Andorra"],
           zhwiki="安道尔", enwiki="Andorra",
           items=[(P31, "Q3624078"), (P36, "Q1863"), ("P30", "Q46"), ("P706", "Q3392"), ("P47", "Q29"),
                  ("P47", "Q142"), ("P37", "Q7026"), ("P38", "Q4916"), ("P463", "Q1065")],
           quantities=[("P2046", amount("+468", KM2))]),
    entity("Q1863", "安道尔城", "Andorra la Vella", zhwiki="安道尔城", enwiki="Andorra la Vella",
           items=[(P31, "Q515"), (P17, "Q228")], quantities=[("P2044", amount("+1023", METRE))]),
    entity("Q29", "西班牙", "Spain", zhwiki="西班牙", enwiki="Spain",
           items=[(P31, "Q3624078"), ("P30", "Q46"), ("P47", "Q228"), ("P47", "Q142")]),
    entity("Q142", "法国", "France", zhwiki="法国", enwiki="France",
           items=[(P31, "Q3624078"), ("P30", "Q46"), ("P47", "Q228"), ("P47", "Q29")]),
    entity("Q3392", "比利牛斯山脉", "Pyrenees", zhwiki="比利牛斯山脉", enwiki="Pyrenees", items=[(P31, "Q46831")]),
    entity("Q7026", "加泰罗尼亚语", "Catalan", en_aliases=["Catalan language"], zhwiki="加泰罗尼亚语",
           enwiki="Catalan language"),
    entity("Q4916", "欧元", "euro", zhwiki="欧元", enwiki="Euro"),
    entity("Q1065", "联合国", "United Nations", zhwiki="联合国", enwiki="United Nations"),
    # people, professions, works, organisations
    entity("Q36180", "作家", "writer", zhwiki="作家", enwiki="Writer", items=[(P31, "Q28640")]),
    entity("Q28389", "编剧", "screenwriter", zhwiki="编剧", enwiki="Screenwriter", items=[(P31, "Q28640")]),
    entity("Q6625963", "小说家", "novelist", items=[(P31, "Q28640")]),
    entity("Q10833314", "网球运动员", "tennis player", items=[(P31, "Q28640")]),
    entity("Q33999", "演员", "actor", en_aliases=["actress"], zhwiki="演员", enwiki="Actor", items=[(P31, "Q28640")]),
    entity("Q25169", "银河便车指南", "The Hitchhiker's Guide to the Galaxy",
           zh_aliases=["银河系漫游指南", "銀河便車指南"], zhwiki="银河便车指南", enwiki="The Hitchhiker's Guide to the Galaxy",
           items=[(P31, "Q196600"), ("P50", "Q42"), ("P495", "Q145")]),
    entity("Q7407", "安德烈·阿加西", "Andre Agassi", en_aliases=["Andre Kirk Agassi", "Agassi"],
           zhwiki="安德烈·阿加西", enwiki="Andre Agassi",
           items=[(P31, "Q5"), ("P19", "Q23768"), ("P27", "Q30"), ("P106", "Q10833314"), ("P26", "Q54545"),
                  ("P26", "Q188375"), ("P22", "Q3051792")],
           times=[("P569", day(1970, 4, 29))]),
    entity("Q54545", "施特菲·格拉芙", "Steffi Graf", en_aliases=["Stefanie Maria Graf", "Graf"],
           zhwiki="施特菲·格拉芙", enwiki="Steffi Graf",
           items=[(P31, "Q5"), ("P19", "Q2119"), ("P27", "Q183"), ("P106", "Q10833314"), ("P26", "Q7407")],
           times=[("P569", day(1969, 6, 14))]),
    entity("Q188375", "波姬·小丝", "Brooke Shields", en_aliases=["Brooke Christa Shields", "Shields"], zhwiki="波姬·小丝",
           enwiki="Brooke Shields",
           items=[(P31, "Q5"), ("P19", "Q60"), ("P27", "Q30"), ("P106", "Q33999"), ("P106", "Q4610556"), ("P26", "Q7407")],
           times=[("P569", day(1965, 5, 31))]),
    entity("Q60", "纽约市", "New York City", zhwiki="纽约市", enwiki="New York City", items=[(P31, "Q1093829"), (P17, "Q30")]),
    entity("Q4610556", "模特儿", "model", items=[(P31, "Q28640")]),
    entity("Q3051792", None, "Emmanuel Agassi", en_aliases=["Mike Agassi"], enwiki="Emmanuel Agassi",
           items=[(P31, "Q5"), ("P40", "Q7407"), ("P27", "Q794"), ("P27", "Q30")]),
    entity("Q3335", "乔治·奥威尔", "George Orwell", en_aliases=["Orwell", "Eric Arthur Blair"],
           zhwiki="乔治·奥威尔", enwiki="George Orwell",
           items=[(P31, "Q5"), ("P27", "Q145"), ("P106", "Q6625963"), ("P106", "Q36180"), ("P800", "Q206933"),
                  ("P800", "Q208460"), ("P69", "Q192088"), ("P20", "Q84")],
           times=[("P569", day(1903, 6, 25)), ("P570", day(1950, 1, 21))]),
    entity("Q206933", "动物农庄", "Animal Farm", en_aliases=["Animal Farm: A Fairy Story"],
           zhwiki="动物农庄", enwiki="Animal Farm",
           items=[(P31, "Q149537"), ("P50", "Q3335"), ("P495", "Q145"), ("P123", "Q7444734")],
           times=[("P577", day(1945, 8, 17))]),
    entity("Q7444734", None, "Secker and Warburg", en_aliases=["Secker & Warburg"], enwiki="Secker and Warburg",
           items=[(P31, "Q2085381"), (P17, "Q145"), ("P159", "Q84")]),
    entity("Q208460", "一九八四", "Nineteen Eighty-Four", en_aliases=["1984"], zhwiki="一九八四", enwiki="Nineteen Eighty-Four",
           items=[(P31, "Q8261"), ("P50", "Q3335"), ("P495", "Q145"), ("P123", "Q7444734")],
           times=[("P577", day(1949, 6, 8))]),
    entity("Q8261", "长篇小说", "novel", items=[(P279, "Q7725634")]),
    entity("Q192088", "伊顿公学", "Eton College", zhwiki="伊顿公学", enwiki="Eton College",
           items=[(P31, "Q2385804"), (P17, "Q145"), ("P112", "Q130005")], times=[("P571", year(1440))]),
    entity("Q130005", "亨利六世", "Henry VI of England", en_aliases=["King Henry VI", "Henry VI"], enwiki="Henry VI of England",
           items=[(P31, "Q5")]),
    entity("Q2385804", "教育机构", "educational institution"),
    entity("Q691283", "剑桥大学圣约翰学院", "St John's College, Cambridge", en_aliases=["St John's College"],
           enwiki="St John's College, Cambridge", items=[(P31, "Q2385804"), (P131, "Q350"), ("P361", "Q35794")]),
    entity("Q4961791", None, "Brentwood School", enwiki="Brentwood School (Essex)", items=[(P31, "Q2385804"), (P17, "Q145")]),
    entity("Q14623681", None, "Jane Belson", enwiki="Jane Belson", items=[(P31, "Q5"), ("P26", "Q42")]),
    entity("Q14623675", None, "Christopher Douglas Adams", items=[(P31, "Q5"), ("P40", "Q42")]),
    entity("Q14623678", None, "Janet Adams", items=[(P31, "Q5"), ("P40", "Q42")]),
    entity("Q159288", "圣巴巴拉", "Santa Barbara", enwiki="Santa Barbara, California",
           items=[(P31, "Q1093829"), (P17, "Q30"), (P131, "Q99")]),
    entity("Q533697", "海格特公墓", "Highgate Cemetery", enwiki="Highgate Cemetery",
           items=[(P31, "Q39614"), (P17, "Q145"), (P131, "Q84")]),
    entity("Q39614", "墓地", "cemetery"),
    entity("Q2119", "曼海姆", "Mannheim", zhwiki="曼海姆", enwiki="Mannheim", items=[(P31, "Q515"), (P17, "Q183")]),
    entity("Q713750", "西德", "West Germany", zhwiki="西德", enwiki="West Germany", items=[(P31, "Q3624078")]),
    entity("Q15180", "苏联", "Soviet Union", en_aliases=["USSR"], zhwiki="苏联", enwiki="Soviet Union",
           items=[(P31, "Q3624078"), (P36, "Q649")]),
    entity("Q855", "约瑟夫·斯大林", "Joseph Stalin", en_aliases=["Stalin"], zhwiki="约瑟夫·斯大林", enwiki="Joseph Stalin",
           items=[(P31, "Q5"), ("P27", "Q15180")]),
]


def main() -> None:
    real = [json.loads((HERE / name).read_text(encoding="utf-8")) for name in ("Q42.json", "P279.json")]
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in real + WRITTEN]
    dump = "[\n" + ",\n".join(lines) + "\n]\n"
    (HERE / "wikidata-sample.json.bz2").write_bytes(bz2.compress(dump.encode("utf-8")))


if __name__ == "__main__":
    main()
