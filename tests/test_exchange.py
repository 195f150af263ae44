"""crmcli.exchange without a folder: reading CSV, JSON and vCard as real
programs and devices write them, planning an import, and writing exports."""
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from crmcli import exchange
from crmcli.config import Config

FIX = Path(__file__).parent / "fixtures" / "exchange"


def rows_of(name: str, kind: str = "client", fmt: str | None = None, maps=None):
    data = (FIX / name).read_bytes()
    fmt = fmt or exchange.guess_format(name, data.decode("utf-8", "replace"))
    rows, problems = exchange.read_rows(data, fmt, kind, name, maps)
    for r in rows:
        problems += r.problems
    return rows, problems


def rendered(problems, severity=None):
    return [p.render() for p in problems if severity is None or p.severity == severity]


# ------------------------------------------------------------------ vCard
def test_android_21_quoted_printable_cyrillic_with_soft_line_breaks():
    rows, problems = rows_of("android-2.1.vcf")
    assert problems == []
    ivan, olga, john = rows
    assert (ivan.line, olga.line, john.line) == (1, 24, 39)
    assert ivan.values == {
        "name": "Иван Петрович Иванов", "kind": "person",
        "emails": ["ivan.ivanov@example.ru", "i.ivanov@romashka.example"],
        "phones": ["+7 903 123-45-67", "8 (831) 412-00-00"],
        "address": "ул. Большая Покровская, д. 1, кв. 2\nНижний Новгород, 603005\nРоссия",
        "birthday": "1990-02-03",                      # BDAY:19900203
        "notes": "Любит зелёный чай.\nПерезвонить после 18:00, спросить про абонемент.",
    }
    assert ivan.org_name == olga.org_name == "ООО «Ромашка»"
    assert olga.values["birthday"] == "1985-07-14"   # BDAY:1985-07-14; its PHOTO is skipped
    # vCard 2.1 does not escape commas: the whole name stays
    assert john.values["name"] == "Smith, John" and john.values["phones"] == ["+44 20 7946 0018"]


def test_apple_30_grouped_properties_folded_lines_and_company_card():
    rows, problems = rows_of("apple-3.0.vcf")
    anna, studio, michael = rows
    assert anna.values["phones"] == ["+7 (903) 555-12-34", "0123 456"]          # item1.TEL
    assert anna.values["emails"] == ["anna.petrova@lotus.example", "anna.p@mail.example"]
    assert anna.values["address"] == "ул. Рождественская, 10\nофис 5\nНижний Новгород, 603001\nРоссия"
    assert anna.values["notes"] == ("Познакомились на выставке «Красота и здоровье», просила прислать прайс."
                                    "\nЗвонить после обеда.")                    # folded mid-word
    assert anna.values["tags"] == ["vip", "выставка"] and anna.values["birthday"] == "1988-11-05"
    assert anna.org_name == "Студия «Лотос»"
    assert studio.values["kind"] == "organization" and studio.org_name is None
    assert studio.values["name"] == "Студия «Лотос»"
    assert michael.values["emails"] == ["michael.brown@example.com"]            # item1.EMAIL
    assert "birthday" not in michael.values
    assert rendered(problems) == ["apple-3.0.vcf:43: BDAY '1604-03-21' has no year (Apple marks it with 1604); "
                                  "the birthday was not imported"]
    assert problems[0].severity == "warning"


def test_vcard_40_uris_kind_and_birthdays():
    rows, problems = rows_of("v4.0.vcf")
    jane, acme, orjan = rows
    assert jane.values["phones"] == ["+1-555-555-5555", "+1-555-555-0000;ext=12"]
    assert jane.values["address"] == "12 Main St\nSpringfield, IL, 62701\nUSA"
    assert jane.values["notes"] == "Prefers e-mail.\nTwo kids." and jane.org_name == "Acme Inc."
    assert acme.values["kind"] == "organization"
    assert orjan.values["birthday"] == "1985-04-12"
    assert rendered(problems) == ["v4.0.vcf:11: BDAY '--0203' has no year; the birthday was not imported"]


def test_broken_vcards_are_named_by_line():
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad\r\nthis line has no colon\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nBDAY:sometime\r\nEND:VCARD\r\n")
    rows, problems = exchange.read_rows(text.encode(), "vcard", "client", "x.vcf")
    problems += [p for r in rows for p in r.problems]
    lines = sorted((p.line, p.message.split(":")[0]) for p in problems)
    assert lines == [(8, "vCard error"), (10, "this vCard has no name (FN, N or ORG)"), (13, "BDAY 'sometime' is not a date (YYYY-MM-DD)")]
    _, problems = exchange.read_rows(b"BEGIN:VCARD\nFN:x\n", "vcard", "client", "x.vcf")
    assert rendered(problems) == ["x.vcf:1: this vCard has no END:VCARD"]


def test_vcard_export_is_read_back_by_vobject_and_by_import():
    import vobject
    clients = [
        {"id": "romashka-x3k9", "name": "ООО «Ромашка»", "kind": "organization", "phones": ["0123"]},
        {"id": "ivan-a1b2", "name": "Иван Петров", "kind": "person", "org": "romashka-x3k9",
         "emails": ["ivan@example.ru", "i@work.example"], "phones": ["+7 903 000-00-00", "8 800"],
         "address": "ул. Ленина, 1; кв. 2\nНижний Новгород", "birthday": date(1990, 2, 3),
         "tags": ["vip", "a,b"], "notes": "Первая строка\nвторая; третья, и очень длинная строка, чтобы её "
                                          "пришлось сложить по 75 октетов"},
    ]
    text = exchange.clients_to_vcard(clients)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cards = list(vobject.readComponents(text))
    ivan = cards[1]
    assert ivan.version.value == "3.0" and ivan.fn.value == "Иван Петров"
    assert (ivan.n.value.family, ivan.n.value.given) == ("Петров", "Иван")
    assert [t.value for t in ivan.tel_list] == ["+7 903 000-00-00", "8 800"]
    assert [e.value for e in ivan.email_list] == ["ivan@example.ru", "i@work.example"]
    assert ivan.bday.value == "1990-02-03" and ivan.org.value == ["ООО «Ромашка»"]
    assert ivan.categories.value == ["vip", "a,b"] and ivan.note.value == clients[1]["notes"]
    assert ivan.adr.value.street == clients[1]["address"]
    rows, problems = exchange.read_rows(text.encode(), "vcard", "client", "out.vcf")
    assert problems == [] and [r.rid for r in rows] == ["romashka-x3k9", "ivan-a1b2"]
    assert rows[0].values["kind"] == "organization" and rows[1].org_name == "ООО «Ромашка»"
    for key in ("name", "emails", "phones", "address", "tags", "notes"):
        assert rows[1].values[key] == clients[1][key]


# ------------------------------------------------------------------ CSV
def test_google_contacts_csv():
    rows, problems = rows_of("google-contacts.csv")
    maria, john, romashka = rows
    assert (maria.line, john.line, romashka.line) == (2, 7, 8)
    assert maria.values["name"] == "Мария Иванова" and maria.values["kind"] == "person"
    assert maria.values["emails"] == ["maria.ivanova@example.ru", "m.ivanova@atlant.example"]  # " ::: "
    assert maria.values["phones"] == ["+7 903 111-22-33", "0123 456"]
    assert maria.values["tags"] == ["VIP", "Массаж"]                      # "* myContacts" dropped
    assert maria.values["address"] == "ул. Ленина, 1\nНижний Новгород\n603000\nРоссия"
    assert maria.values["birthday"] == "1998-07-30" and maria.org_name == "Фитнес-клуб «Атлант»"
    assert maria.values["notes"] == "Любит массаж.\nVIP с 2025 года."
    assert maria.merge == {"emails", "phones", "tags"}          # other programs' lists add, never replace
    assert "birthday" not in john.values and john.values["tags"] == ["starred"]
    assert romashka.values["name"] == "ООО «Ромашка»" and romashka.values["kind"] == "organization"
    assert romashka.values["address"] == "ул. Рождественская, 5\nНижний Новгород\nРоссия"
    assert rendered(problems, "warning") == [
        "google-contacts.csv:1: columns not imported: Organization Title, Website 1 - Value "
        "(hint: import one with --map COLUMN=FIELD, or skip it quietly with --map COLUMN=-)",
        "google-contacts.csv:7: Birthday: '--05-17' has no year; the birthday was not imported"]


def test_outlook_csv_and_map():
    rows, problems = rows_of("outlook.csv", maps={"Job Title": "fields.position", "Title": "-"})
    laura, petr = rows
    assert laura.values["name"] == "Laura Bianchi" and laura.values["birthday"] == "1990-02-03"   # 2/3/1990
    assert laura.values["phones"] == ["+39 333 123 4567", "+39 02 1234 5678"]
    assert laura.values["address"] == "Via Roma 1\nMilano, 20121\nItaly"
    assert laura.values["tags"] == ["VIP", "Expo"] and laura.org_name == "Bianchi Wellness S.r.l."
    assert laura.values["fields"] == {"position": "Owner"}
    assert "birthday" not in petr.values                                   # 0/0/00
    assert petr.values["address"] == "ул. Мира, 3\nМосква, 129090"
    assert rendered(problems) == []


def test_native_csv_lines_lists_and_empty_cells():
    text = ('id,name,emails,tags,notes,fields.age,status\n'
            'a-1,Анна,"a@x.ru; b@x.ru",vip,"две\nстроки",41,customer\n'
            '\n'
            'b-2,Борис,,"[""a; b"", ""c""]",,,prospect\n')
    rows, problems = exchange.read_rows(text.encode(), "csv", "client", "c.csv")
    assert problems == []
    a, b = rows
    assert (a.line, b.line) == (2, 5)
    assert a.values == {"name": "Анна", "emails": ["a@x.ru", "b@x.ru"], "tags": ["vip"], "notes": "две\nстроки",
                        "fields": {"age": "41"}}
    assert b.values == {"name": "Борис", "tags": ["a; b", "c"]}
    # an empty cell in a column named like the field empties the field; status is derived, never read
    assert b.clear == {"emails", "notes", "fields.age"} and b.merge == set()


def test_semicolon_separated_csv_and_bad_rows():
    rows, problems = exchange.read_rows("name;emails\nАнна;a@x.ru\n".encode(), "csv", "client", "c.csv")
    assert rows[0].values == {"name": "Анна", "emails": ["a@x.ru"]}
    rows, problems = exchange.read_rows(b"name,emails\nA,a@x.ru,extra\n", "csv", "client", "c.csv")
    assert rendered(problems) == ["c.csv:2: 3 cells, but the header names 2 columns (hint: a cell with a comma "
                                  "or a line break must be in double quotes)"]
    _, problems = exchange.read_rows(b"\xff\xfename\n", "csv", "client", "c.csv")
    assert "invalid UTF-8" in problems[0].message


@pytest.mark.parametrize("value", ["=1+2", "+7 903", "-5", "@home", "\tx", "\rx", "'=already", "''+x",
                                   "plain", "it's", "'quoted'", ""])
def test_spreadsheet_escaping_is_reversed_exactly(value):
    cell = exchange.escape_cell(value)
    assert not cell.startswith(exchange.FORMULA_START)
    assert exchange.clean_cell(cell) == value.replace("\r\n", "\n")


def test_list_cells():
    assert exchange.join_list(["a", "b"]) == "a; b"
    for items in (["a; b", "c"], [" padded"], ["[x]"], ["=1", "2"]):
        assert exchange.split_list(exchange.join_list(items)) == items
    assert exchange.split_list("a;b ;; c") == ["a", "b", "c"]


@pytest.mark.parametrize("text,iso", [("1990-02-03", "1990-02-03"), ("19900203", "1990-02-03"),
                                      ("1990-02-03T00:00:00Z", "1990-02-03"), ("2/3/1990", "1990-02-03"),
                                      ("03.02.1990", "1990-02-03"), ("0/0/00", None), ("", None)])
def test_foreign_dates(text, iso):
    assert exchange.foreign_date(text) == (iso, None)


def test_foreign_dates_without_year_or_invalid():
    assert exchange.foreign_date("--0203")[1].endswith("has no year; the birthday was not imported")
    assert exchange.foreign_date("--02-03")[0] is None
    assert "is not a date" in exchange.foreign_date("1990-02-30")[1]


# ------------------------------------------------------------------ JSON
def test_json_rows_carry_lines_and_text():
    text = '[\n  {"id": "a-1", "name": "A", "amount": 1500.50, "opt_out": true, "status": "customer"},\n' \
           '  {"name": "B", "emails": [], "fields": {"age": 41}}\n]\n'
    rows, problems = exchange.read_rows(text.encode(), "json", "client", "c.json")
    assert problems[0].severity == "warning" and "'amount' is not a field" in problems[0].message
    a, b = rows
    assert (a.line, b.line, a.rid) == (2, 3, "a-1")
    assert a.values == {"name": "A", "amount": "1500.50", "opt_out": "true"}   # numbers keep their digits
    assert b.values == {"name": "B", "fields": {"age": "41"}} and b.clear == {"emails", "fields"}


@pytest.mark.parametrize("text,line", [('[\n{"name": "A"},\n{"name": }\n]', 3), ('[\n1\n]', 2),
                                       ('{"name": "A"} x', 1)])
def test_json_errors_name_the_line(text, line):
    rows, problems = exchange.read_rows(text.encode(), "json", "client", "c.json")
    assert problems and problems[0].line == line and problems[0].severity == "error"


# ------------------------------------------------------------------ plan
def cfg():
    return Config(owners={"anna": {}}, fields={"age": {"type": "integer"}})


def snapshot(**records):
    snap = exchange.Snapshot(cfg(), date(2026, 11, 27))
    for kind in ("client", "deal", "activity", "stakeholder", "competitor"):
        recs = records.get(kind, [])
        snap.ids[kind] = {r["id"] for r in recs}
        snap.records[kind] = {r["id"]: r for r in recs}
        snap.broken[kind] = {}
    return snap


def plan(kind, text, snap, fmt="csv"):
    rows, problems = exchange.read_rows(text.encode(), fmt, kind, "f." + fmt)
    actions, more = exchange.plan_import(kind, rows, snap, "f." + fmt)
    return actions, problems + more


def test_matching_by_id_then_email_then_name():
    snap = snapshot(client=[
        {"id": "anna-1", "name": "Анна", "emails": ["Anna@X.ru"], "tags": ["old"], "notes": "keep"},
        {"id": "fedor-2", "name": "Фёдор", "phones": ["1"]},
        {"id": "ivan-3", "name": "Иван"}])
    actions, problems = plan("client", "name,emails,phones\n"
                                       "Anna P.,anna@x.ru,\n"     # by e-mail, any case
                                       "федор,,2\n"               # by name, any case, е = ё
                                       "Новый,new@x.ru,\n", snap)
    assert problems == []
    by = {a.line: a for a in actions}
    # a column named like the field replaces it: the e-mail now reads as the file has it
    assert (by[2].verb, by[2].rid, by[2].changed()) == ("update", "anna-1", ["name", "emails"])
    assert by[2].record["notes"] == "keep" and by[2].record["tags"] == ["old"]
    assert (by[3].rid, by[3].record["phones"]) == ("fedor-2", ["2"])
    assert by[4].verb == "create" and by[4].rid.startswith("novyy-")
    assert by[4].record["created"] == date(2026, 11, 27)      # a new contact is dated like `client add`
    actions, problems = plan("client", "id,name\nivan-3,Иван\nzoe-9,Zoe\n", snap)
    assert [(a.verb, a.rid) for a in actions] == [("unchanged", "ivan-3"), ("create", "zoe-9")]
    assert "created" not in actions[1].record                 # crm's own rows are taken as they are


def test_foreign_lists_are_merged_and_native_lists_replaced():
    snap = snapshot(client=[{"id": "a-1", "name": "A", "emails": ["a@x.ru"], "tags": ["old"]}])
    actions, _ = plan("client", "Name,E-mail 1 - Value,Labels\nA,a@x.ru ::: b@x.ru,new\n", snap)
    assert actions[0].record["emails"] == ["a@x.ru", "b@x.ru"] and actions[0].record["tags"] == ["old", "new"]
    actions, _ = plan("client", "id,name,tags\na-1,A,new\n", snap)
    assert actions[0].record["tags"] == ["new"] and actions[0].record["emails"] == ["a@x.ru"]


def test_ambiguous_and_duplicate_rows_are_problems():
    snap = snapshot(client=[{"id": "a-1", "name": "A", "emails": ["a@x.ru"]},
                            {"id": "a-2", "name": "A"}, {"id": "b-1", "name": "B", "emails": ["b@x.ru"]}])
    _, problems = plan("client", "name,emails\nA,\nX,a@x.ru; b@x.ru\nB,\nB2,b@x.ru\n,z@x.ru\n", snap)
    assert rendered(problems) == [
        "f.csv:2: it matches several clients by name: a-1, a-2 (hint: add an id column to say which)",
        "f.csv:3: its e-mails match several clients: a-1, b-1 (hint: add an id column to say which)",
        "f.csv:5: the same client (b-1) as on line 4, matched by e-mail (hint: a file may name each record once)",
        "f.csv:6: required field 'name' is missing"]


def test_references_names_and_types_are_checked_with_the_row_line():
    snap = snapshot(client=[{"id": "romashka-1", "name": "ООО Ромашка"}],
                    competitor=[{"id": "olimp-1", "name": "Олимп"}])
    text = ("title,client,stage,amount,owner,competitors,history\n"
            "Абонемент,ооо ромашка,lead,1500,anna,Олимп,\n"
            "B,Nobody,flying,12x,boris,,\n"
            'C,romashka-1,won,,,,"[{""stage"": ""lead"", ""date"": ""2026-01-01""}]"\n')
    actions, problems = plan("deal", text, snap)
    first = next(a for a in actions if a.line == 2)
    assert first.record["client"] == "romashka-1" and first.record["competitors"] == ["olimp-1"]
    assert first.record["amount"] == Decimal("1500") and first.record["created"] == date(2026, 11, 27)
    assert rendered(problems) == [
        "f.csv:3: amount: '12x' is not a number",
        "f.csv:3: client: no client with id or name 'Nobody'",
        "f.csv:3: owner: unknown owner 'boris' (hint: owners are the keys of crm.yaml owners:)",
        "f.csv:3: stage: unknown stage 'flying' (hint: stages: lead, qualified, proposal, negotiation, won, lost)",
        "f.csv:4: stage 'won' disagrees with the last history entry ('lead') (hint: use crm deal move, which "
        "updates both)"]


def test_org_names_link_to_the_file_the_folder_or_a_new_organization():
    snap = snapshot(client=[{"id": "acme-1", "name": "Acme", "kind": "organization"}])
    text = ("First Name,Last Name,Company\nA,One,Acme\nB,Two,Beta LLC\nC,Three,Beta LLC\n,,Gamma\nD,Four,gamma\n")
    actions, problems = plan("client", text, snap)
    assert problems == []
    recs = {a.record["name"]: a for a in actions}
    assert recs["A One"].record["org"] == "acme-1"
    beta = recs["Beta LLC"]
    assert beta.verb == "create" and beta.record["kind"] == "organization" and beta.note == "organization of line 3"
    assert recs["B Two"].record["org"] == recs["C Three"].record["org"] == beta.rid
    assert recs["D Four"].record["org"] == recs["Gamma"].rid                  # a row of the same file
    assert len(actions) == 6


def test_activities_match_on_their_whole_key():
    snap = snapshot(client=[{"id": "c-1", "name": "C"}],
                    activity=[{"id": "call-1", "client": "c-1", "type": "call", "date": date(2026, 1, 5),
                               "comment": "Hello"}])
    actions, problems = plan("activity", "client,type,date,comment,status\nC,call,2026-01-05,hello,done\n"
                                         "C,call,2026-01-06,hello,\n", snap)
    assert problems == []
    assert [(a.verb, a.rid) for a in actions][0] == ("update", "call-1")
    assert actions[1].verb == "create" and actions[1].rid.startswith("call-c-1-")


def test_csv_export_columns_escaping_and_json_cells():
    recs = [{"id": "a-1", "name": "=cmd()", "phones": ["+7 1", "2"], "tags": ["x; y"],
             "fields": {"age": 41, "extra": "z"}, "legacy": "k"},
            {"id": "d-1", "name": "B", "opt_out": True, "birthday": date(1990, 2, 3)}]
    text = exchange.records_to_csv("client", recs, cfg(), {"status": {"a-1": "prospect"}})
    lines = text.splitlines()
    assert lines[0] == ("id,name,kind,org,owner,emails,phones,address,tags,source,birthday,competitors,opt_out,"
                        "created,fields.age,fields.extra,notes,legacy,status")
    assert lines[1] == "a-1,'=cmd(),,,,,'+7 1; 2,,\"[\"\"x; y\"\"]\",,,,,,41,z,,k,prospect"
    assert lines[2] == "d-1,B,,,,,,,,,1990-02-03,,true,,,,,,"
    deal = {"id": "d", "title": "T", "client": "c", "stage": "won", "amount": Decimal("1500.50"),
            "history": [{"stage": "won", "date": date(2026, 1, 2)}]}
    text = exchange.records_to_csv("deal", [deal], cfg())
    assert '1500.50' in text and '"[{""stage"": ""won"", ""date"": ""2026-01-02""}]"' in text
