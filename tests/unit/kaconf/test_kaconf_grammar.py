"""Grammar features of keepalived.conf, one test each (keepalived.conf(5) and lib/parser.c)."""

from __future__ import annotations

import ipaddress

from kaconf_support import config_of, instance_text, messages, parse

from hapair.config.keepalived import InitialState


def vips(text: str, **kwargs: str | None) -> list[str]:
    config = config_of(text, config_id=kwargs.get("config_id"))
    return [str(v.address) for v in config.instances[0].virtual_addresses]


def test_comments_with_hash_and_bang_anywhere_on_a_line() -> None:
    config = config_of(
        "# hash\n! bang\nvrrp_instance X { # after a brace\n interface vA ! after a value\n"
        " virtual_router_id 5#glued\n virtual_ipaddress {\n  10.0.0.5/24 # 한국어 주석\n }\n}\n"
    )
    assert config.instances[0].virtual_router_id == 5


def test_a_line_of_only_tabs_and_a_tab_indented_comment_load() -> None:
    config = config_of(
        instance_text("\t\t\t\t\t\t\n\t\t\t# 동일한 id를 사용하는 virtual router가 있으면 오류 발생!")
    )
    assert config.instances[0].name == "X"


def test_block_brace_on_the_same_or_the_next_line_and_inline_blocks() -> None:
    text = (
        "vrrp_instance"
        " A\n{\n interface vA\n virtual_router_id 5\n virtual_ipaddress\n {\n  10.0.0.5/24\n }\n}\n"
        "vrrp_instance B { interface vA\n virtual_router_id 6\n virtual_ipaddress { 10.0.0.6/24 }\n"
        " authentication { auth_type PASS\n  auth_pass 1234 }\n}\n"
    )
    config = config_of(text)
    a, b = config.instances
    assert [str(v.address) for v in a.virtual_addresses] == ["10.0.0.5/24"]
    assert [str(v.address) for v in b.virtual_addresses] == ["10.0.0.6/24"]
    assert b.authentication is not None and b.authentication.password == b"1234"


def test_each_line_of_a_value_block_is_one_entry() -> None:
    _, diagnostics = parse(instance_text("  virtual_ipaddress_excluded { 10.0.0.6/24 10.0.0.7/24 }"))
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 7) Unknown configuration entry '10.0.0.7/24' for ip address - ignoring"
    ]


def test_double_quoted_strings_are_one_word() -> None:
    config = config_of(
        'vrrp_instance "A" {\n interface "vA"\n virtual_router_id "5"\n priority " 7"\n'
        ' virtual_ipaddress {\n  "10.0.0.5/24"\n }\n}\n'
    )
    instance = config.instances[0]
    assert (instance.name, instance.interface, instance.priority) == ("A", "vA", 7)


def test_include_with_globs_relative_to_the_including_file_and_inside_blocks() -> None:
    files = {
        "conf.d/globals.conf": "router_id FROM_INCLUDE\n",
        "conf.d/instance.conf": "vrrp_instance X {\n interface vA\n include sub/vrid.conf\n"
        " virtual_ipaddress {\n  include vips/*.conf\n }\n}\n",
        "conf.d/sub/vrid.conf": "virtual_router_id 9\n",
        "conf.d/vips/b.conf": "10.0.0.22/24\n",
        "conf.d/vips/a.conf": "10.0.0.21/24\n",
        "conf.d/vips/.hidden.conf": "10.0.0.99/24\n",
    }
    config = config_of("global_defs {\n include conf.d/globals.conf\n}\ninclude conf.d/inst*.conf\n", files)
    assert config.global_defs.router_id == "FROM_INCLUDE"
    instance = config.instances[0]
    assert instance.virtual_router_id == 9
    assert [str(v.address) for v in instance.virtual_addresses] == ["10.0.0.21/24", "10.0.0.22/24"]


def test_include_brace_expressions_and_locations_name_the_included_file() -> None:
    files = {"a.conf": "bogus_a\n", "b.conf": "\nbogus_b\n"}
    _, diagnostics = parse("include {a,b}.conf\n", files)
    assert messages(diagnostics) == [
        "(a.conf: Line 1) Unknown keyword 'bogus_a'",
        "(b.conf: Line 2) Unknown keyword 'bogus_b'",
    ]


def test_a_missing_include_is_an_error_for_hapair() -> None:
    config, diagnostics = parse("include nothere.conf\n" + instance_text(""))
    assert messages(diagnostics) == ["(keepalived.conf: Line 1) Config files missing 'nothere.conf'."]
    assert config is not None  # an error, not fatal: the rest is still read


def test_a_missing_main_file_is_fatal() -> None:
    from hapair.config.keepalived import InMemorySources, check_config

    config, diagnostics = check_config("/nope.conf", InMemorySources({}))
    assert config is None
    assert messages(diagnostics) == ["Config files missing '/nope.conf'."]


def test_self_including_file_stops_at_the_nesting_limit() -> None:
    config, diagnostics = parse("include keepalived.conf\n")
    assert config is not None
    assert messages(diagnostics)[-1].endswith(
        "include nesting deeper than 32 at 'keepalived.conf' - skipping"
    )


def test_conditional_lines_follow_the_config_id() -> None:
    text = instance_text("  @node1 priority 200\n  @^node1 priority 50\n  @node1\n")
    assert config_of(text, config_id="node1").instances[0].priority == 200
    assert config_of(text, config_id="node2").instances[0].priority == 50
    assert config_of(text).instances[0].priority == 50  # no config id: only @^ lines apply


def test_parameters_plain_braced_recursive_and_undefined() -> None:
    text = "$BASE=10.0.${SUB}\n$SUB=7\n$IF=vA\n" + (
        "vrrp_instance X {\n interface $IF\n virtual_router_id 5\n virtual_ipaddress {\n"
        '  ${BASE}.1/24\n }\n notify_master "/bin/echo $UNDEFINED"\n}\n'
    )
    config = config_of(text)
    instance = config.instances[0]
    assert instance.interface == "vA"
    assert str(instance.virtual_addresses[0].address) == "10.0.7.1/24"
    assert instance.notify_master is not None
    assert instance.notify_master.argv == ("/bin/echo", "$UNDEFINED")


def test_parameter_definitions_are_conditional_too() -> None:
    text = "$PRIO=120\n@nodeA $PRIO=200\n" + instance_text("  priority $PRIO")
    assert config_of(text, config_id="nodeA").instances[0].priority == 200
    assert config_of(text, config_id="nodeB").instances[0].priority == 120


def test_multi_line_definitions_expand_to_several_lines() -> None:
    text = (
        "$VIPS= \\\n  virtual_ipaddress { \\\n    10.0.0.${N}/24 \\\n  }\n\n"
        "$N=5\nvrrp_instance X {\n interface vA\n virtual_router_id 5\n $VIPS\n}\n"
    )
    assert [str(v.address) for v in config_of(text).instances[0].virtual_addresses] == ["10.0.0.5/24"]


def test_predefined_parameters() -> None:
    text = instance_text('  notify "/bin/echo ${_INSTANCE} ${_PWD} ${_HASH}${_BANG} ${_RANDOM 3 9}"')
    config, diagnostics = parse(text, config_id="node1", random_int=lambda low, high: high)
    assert messages(diagnostics) == []
    assert config is not None and config.instances[0].notify is not None
    assert config.instances[0].notify.argv == ("/bin/echo", "node1", "/etc/keepalived", "#!", "9")


def test_runaway_substitution_is_an_error_not_a_hang() -> None:
    _, diagnostics = parse("$A=${B}\n$B=${A}\n" + instance_text("  priority ${A}"))
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 9) Parameter substitution on line 'priority ${A}' would exceed"
        " maximum line length"
    ]


def test_seq_and_lst_unroll_lines() -> None:
    text = instance_text("").replace(
        "    10.0.0.5/24\n",
        "    ~SEQ(N, 10, 12) 10.0.0.${N}/24\n    ~SEQ(M, 2) 10.0.1.${M}/24\n    ~SEQ(D, 9, -3, 3)"
        " 10.0.3.${D}/24\n"
        "    ~LST(L, 20, 21) 10.0.2.${L}/24\n    ~LST({P,Q}, {30,1}, {31,2}) 10.0.${P}.${Q}/24\n",
    )
    assert vips(text) == [
        "10.0.0.10/24",
        "10.0.0.11/24",
        "10.0.0.12/24",
        "10.0.1.1/24",
        "10.0.1.2/24",
        "10.0.3.9/24",
        "10.0.3.6/24",
        "10.0.3.3/24",
        "10.0.2.20/24",
        "10.0.2.21/24",
        "10.0.30.1/24",
        "10.0.31.2/24",
    ]


def test_seqx_counts_in_hexadecimal() -> None:
    text = instance_text("").replace("    10.0.0.5/24\n", "    ~SEQx(H, 0x90, 0x10, 0xc0) fe80::${H}\n")
    assert vips(text) == ["fe80::90/128", "fe80::a0/128", "fe80::b0/128", "fe80::c0/128"]


def test_malformed_seq_and_lst_report_keepalived_messages() -> None:
    text = instance_text(
        "  ~SEQ(N, 10, -1, 12) priority ${N}\n  ~SEQ(N) priority 1\n  ~SEQ priority 1\n  ~LST(L) x"
    )
    _, diagnostics = parse(text)
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 7) Invalid ~SEQ values '~SEQ(N, 10, -1, 12) priority ${N}'",
        "(keepalived.conf: Line 7) Invalid ~SEQ specification '~SEQ(N, 10, -1, 12) priority ${N}'",
        "(keepalived.conf: Line 8) Invalid ~SEQ definition '~SEQ(N) priority 1'",
        "(keepalived.conf: Line 8) Invalid ~SEQ specification '~SEQ(N) priority 1'",
        "(keepalived.conf: Line 9) Invalid ~SEQ specification '~SEQ priority 1'",
        "(keepalived.conf: Line 10) Invalid ~LST specification '~LST(L) x'",
    ]


def test_structure_errors_in_keepalived_words() -> None:
    text = (
        "vrrp_instance X"
        " {\n interface vA\n virtual_router_id 5\n bogus_kw 1\n unknown_block {\n  inner 1\n }\n"
        " virtual_ipaddress {\n  10.0.0.5/24\n }\n}\n}\n{\n"
    )
    _, diagnostics = parse(text)
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 4) Unknown keyword 'bogus_kw'",
        "(keepalived.conf: Line 5) Unknown keyword 'unknown_block'",
        "(keepalived.conf: Line 5) Unexpected '{' - ignoring",
        "(keepalived.conf: Line 6) Unknown keyword 'inner'",
        # the block of an unknown keyword is not skipped: its '}' closes the instance
        "(keepalived.conf: Line 8) Unknown keyword 'virtual_ipaddress'",
        "(keepalived.conf: Line 8) Unexpected '{' - ignoring",
        "(keepalived.conf: Line 9) Unknown keyword '10.0.0.5/24'",
        "(keepalived.conf: Line 10) Unknown keyword '}'",
        "(keepalived.conf: Line 11) Unknown keyword '}'",
        "(keepalived.conf: Line 12) Extra '}' found",
        "(keepalived.conf: Line 12) Unknown keyword '}'",
        "(keepalived.conf: Line 13) Unexpected '{' - ignoring",
        "(keepalived.conf: Line 13) There are 1 missing '}'s or extra '{'s",
        "(keepalived.conf: Line 1) (X) No VIP specified; at least one is sensible",
    ]


def test_a_block_keyword_without_its_brace() -> None:
    _, diagnostics = parse("vrrp_instance X\n interface vA\n virtual_router_id 5\n}\n")
    assert (
        messages(diagnostics)[0]
        == "(keepalived.conf: Line 2) Missing '{' at beginning of configuration block"
    )


def test_instance_initial_state_defaults_from_priority() -> None:
    config = config_of(instance_text("  priority 255"))
    instance = config.instances[0]
    assert instance.initial_state is InitialState.MASTER
    assert instance.virtual_addresses[0].address == ipaddress.ip_interface("10.0.0.5/24")


def test_crlf_line_endings_load() -> None:
    config = config_of(instance_text("  priority 42").replace("\n", "\r\n"))
    assert config.instances[0].priority == 42


def test_a_plain_reference_must_end_at_a_blank_comma_parenthesis_or_the_line_end() -> None:
    text = "$P=100\n" + instance_text('  priority $P\n  notify "/bin/echo $Px $P,$P) ${P}${P}"')
    instance = config_of(text).instances[0]
    assert instance.priority == 100
    assert instance.notify is not None
    assert instance.notify.argv == ("/bin/echo", "$Px", "100,100)", "100100")
