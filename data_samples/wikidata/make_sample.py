"""Write ``wikidata-sample.json.bz2``: a Wikidata JSON dump excerpt in the real dump framing.

The dump is a JSON array with one entity per line (``[`` first, lines ending in ``,``, ``]`` last).
``Q42.json`` and ``P279.json`` are real entities (Wikidata, CC0, via the qwikidata test data); the others
are written here in the same entity format with real QIDs and real, well-known statements, reduced to
the labels, aliases, sitelinks and claims that the zhwiki sample pages need. Run from the repository root:
``python data_samples/wikidata/make_sample.py``.
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


def entity(qid, zh, en, *, zh_aliases=(), zhwiki=None, items=(), times=()):
    claims: dict[str, list] = {}
    for prop, target in items:
        claims.setdefault(prop, []).append(claim(qid, prop, len(claims.get(prop, [])), item_ref(target),
                                                 "wikibase-item"))
    for prop, value in times:
        claims.setdefault(prop, []).append(claim(qid, prop, 0, value, "time"))
    record = {
        "type": "item", "id": qid,
        "labels": {"zh": text("zh", zh), "zh-hans": text("zh-hans", zh), "en": text("en", en)},
        "descriptions": {},
        "aliases": {"zh": [text("zh", a) for a in zh_aliases]} if zh_aliases else {},
        "claims": claims,
        "sitelinks": {"zhwiki": {"site": "zhwiki", "title": zhwiki, "badges": []}} if zhwiki else {},
    }
    return record


P31, P279, P17, P131, P36 = "P31", "P279", "P17", "P131", "P36"
WRITTEN = [
    entity("Q5", "人类", "human"),
    entity("Q6256", "国家", "country"),
    entity("Q515", "城市", "city"),
    entity("Q1763527", "构成国", "constituent country", items=[(P279, "Q6256")]),
    entity("Q35657", "美国州份", "state of the United States"),
    entity("Q3918", "大学", "university"),
    entity("Q28640", "职业", "profession"),
    entity("Q7725634", "文学作品", "literary work"),
    entity("Q196600", "媒体系列", "media franchise"),
    entity("Q145", "英国", "United Kingdom", zh_aliases=["大不列颠及北爱尔兰联合王国", "英國", "联合王国"],
           zhwiki="英国", items=[(P31, "Q6256"), (P36, "Q84"), ("P150", "Q21"), ("P150", "Q22"),
                                ("P150", "Q25"), ("P150", "Q26"), ("P30", "Q46")]),
    entity("Q46", "欧洲", "Europe", zhwiki="欧洲"),
    entity("Q21", "英格兰", "England", zhwiki="英格兰", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q22", "苏格兰", "Scotland", zhwiki="苏格兰", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q25", "威尔士", "Wales", zhwiki="威尔士", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q26", "北爱尔兰", "Northern Ireland", zhwiki="北爱尔兰", items=[(P31, "Q1763527"), (P17, "Q145")]),
    entity("Q84", "伦敦", "London", zh_aliases=["倫敦"], zhwiki="伦敦",
           items=[(P31, "Q515"), (P17, "Q145"), (P131, "Q21")]),
    entity("Q350", "剑桥", "Cambridge", zh_aliases=["劍橋"], zhwiki="剑桥", items=[(P31, "Q515"), (P17, "Q145")]),
    entity("Q35794", "剑桥大学", "University of Cambridge", zh_aliases=["劍橋大學"], zhwiki="剑桥大学",
           items=[(P31, "Q3918"), (P131, "Q350"), (P17, "Q145")], times=[("P571", year(1209))]),
    entity("Q30", "美国", "United States of America", zh_aliases=["美利坚合众国"], zhwiki="美国",
           items=[(P31, "Q6256")]),
    entity("Q99", "加利福尼亚州", "California", zh_aliases=["加州"], zhwiki="加利福尼亚州",
           items=[(P31, "Q35657"), (P17, "Q30")]),
    entity("Q36180", "作家", "writer", zhwiki="作家", items=[(P31, "Q28640")]),
    entity("Q28389", "编剧", "screenwriter", zhwiki="编剧", items=[(P31, "Q28640")]),
    entity("Q6625963", "小说家", "novelist", items=[(P31, "Q28640")]),
    entity("Q25169", "银河便车指南", "The Hitchhiker's Guide to the Galaxy",
           zh_aliases=["银河系漫游指南", "銀河便車指南"], zhwiki="银河便车指南",
           items=[(P31, "Q196600"), ("P50", "Q42"), ("P495", "Q145")]),
]


def main() -> None:
    real = [json.loads((HERE / name).read_text(encoding="utf-8")) for name in ("Q42.json", "P279.json")]
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in real + WRITTEN]
    dump = "[\n" + ",\n".join(lines) + "\n]\n"
    (HERE / "wikidata-sample.json.bz2").write_bytes(bz2.compress(dump.encode("utf-8")))


if __name__ == "__main__":
    main()
