from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidRevision, InvalidVersion
from engine.versions import Flag, Revision, Version, compatibility_problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17.2.1", "17.2.1"),
        ("v17.2.1", "17.2.1"),
        (" v17.2.1\n", "17.2.1"),
        ("18.0.0-rc.1", "18.0.0-rc.1"),
        ("17.2.1+build.5", "17.2.1+build.5"),
        ("17.2.1-dev.abc.1+sha.0f3", "17.2.1-dev.abc.1+sha.0f3"),
    ],
    ids=["plain", "leading v", "surrounding whitespace", "pre-release", "build", "both"],
)
def test_versions_parse_and_render_without_v(text: str, expected: str) -> None:
    assert str(Version.parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "17",
        "17.2",
        "17.2.1.4",
        "V17.2.1",
        "vv17.2.1",
        "017.2.1",
        "17.2.x",
        "17.2.1-",
        "17.2.1+",
        "17.2.1-01",
        "latest",
        "none",
        "17.2.1 garbage",
        "x" * 500,
    ],
    ids=[
        "empty",
        "major only",
        "no patch",
        "four parts",
        "capital V",
        "double v",
        "leading zero",
        "letter patch",
        "empty pre-release",
        "empty build",
        "numeric pre-release leading zero",
        "word",
        "none",
        "trailing garbage",
        "very long",
    ],
)
def test_malformed_versions_are_rejected_naming_the_value(text: str) -> None:
    with pytest.raises(InvalidVersion) as info:
        Version.parse(text)
    assert (text[:40] if text else "''") in str(info.value) or repr(text) in str(info.value)


def test_non_string_version_is_rejected() -> None:
    with pytest.raises(InvalidVersion, match="must be a string"):
        Version.parse(17.2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ordered",
    [
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ],
        ["16.4.9", "17.0.0-rc.1", "17.0.0", "17.0.1", "17.2.1", "17.10.0", "18.0.0"],
    ],
    ids=["semver spec example", "teleport releases"],
)
def test_versions_sort_by_semver_precedence(ordered: list[str]) -> None:
    parsed = [Version.parse(t) for t in ordered]
    shuffled = parsed[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled) == parsed


def test_build_metadata_does_not_change_precedence() -> None:
    assert not Version.parse("17.2.1+a") < Version.parse("17.2.1+b")
    assert not Version.parse("17.2.1+b") < Version.parse("17.2.1+a")


@pytest.mark.parametrize(
    ("name", "version", "flags"),
    [
        ("17.2.1", "17.2.1", set()),
        ("17.2.1_ent", "17.2.1", {Flag.ENTERPRISE}),
        ("17.2.1_ent_fips", "17.2.1", {Flag.ENTERPRISE, Flag.FIPS}),
        ("18.0.0-rc.1_ent", "18.0.0-rc.1", {Flag.ENTERPRISE}),
    ],
    ids=["community", "enterprise", "enterprise fips", "pre-release enterprise"],
)
def test_revision_dir_names_round_trip(name: str, version: str, flags: set[Flag]) -> None:
    revision = Revision.parse_dir_name(name)
    assert revision == Revision(Version.parse(version), frozenset(flags))
    assert revision.dir_name == name


@pytest.mark.parametrize(
    "name",
    [
        "17.2.1_fips",
        "17.2.1_fips_ent",
        "17.2.1_ent_ent",
        "17.2.1_oss",
        "17.2.1_",
        "_ent",
        "v17.2.1",
        "17.2.1_ent_fips_x",
        "../17.2.1",
        "17.2.1/ent",
    ],
    ids=[
        "fips without ent",
        "flags reversed",
        "ent twice",
        "unknown flag",
        "trailing underscore",
        "no version",
        "leading v",
        "extra suffix",
        "path traversal",
        "slash",
    ],
)
def test_bad_revision_names_are_rejected_naming_the_name(name: str) -> None:
    with pytest.raises(InvalidRevision) as info:
        Revision.parse_dir_name(name)
    assert repr(name) in str(info.value)


def test_revision_flags_render_in_update_yaml_order() -> None:
    revision = Revision.of("17.2.1", "FIPS", "Enterprise")
    assert revision.ordered_flags == [Flag.ENTERPRISE, Flag.FIPS]


def test_unknown_flag_is_rejected() -> None:
    with pytest.raises(InvalidRevision, match="'Premium'"):
        Revision.of("17.2.1", "Premium")


def test_fips_without_enterprise_is_rejected() -> None:
    with pytest.raises(InvalidRevision, match="FIPS without Enterprise"):
        Revision.of("17.2.1", Flag.FIPS)


@pytest.mark.parametrize(
    ("target", "server", "allowed"),
    [
        ("17.2.1", "17.2.1", True),
        ("17.0.0", "17.9.9", True),
        ("16.4.0", "17.2.1", True),
        ("15.4.0", "17.2.1", False),
        ("18.0.0", "17.2.1", False),
        ("18.0.0-rc.1", "17.2.1", False),
    ],
    ids=[
        "same",
        "same major older minor",
        "one major behind",
        "two majors behind",
        "ahead of cluster",
        "pre-release of next major",
    ],
)
def test_compatibility_with_the_cluster(target: str, server: str, allowed: bool) -> None:
    problem = compatibility_problem(Version.parse(target), Version.parse(server))
    assert (problem is None) is allowed
    if problem is not None:
        assert target in problem


versions = st.builds(
    Version,
    st.integers(0, 40),
    st.integers(0, 40),
    st.integers(0, 40),
    st.lists(st.sampled_from(["rc", "alpha", "1", "2", "dev", "beta"]), max_size=3).map(tuple),
)


@given(versions)
def test_render_then_parse_is_identity(version: Version) -> None:
    assert Version.parse(str(version)) == version
    assert Version.parse("v" + str(version)) == version


@given(versions, versions)
def test_ordering_is_total_and_consistent(a: Version, b: Version) -> None:
    assert (a < b) + (b < a) + (a == b) == 1


def test_build_metadata_has_no_precedence_either_way() -> None:
    a, b = Version.parse("17.2.1+a"), Version.parse("17.2.1+b")
    assert a == b and not a < b and not b < a and a <= b and hash(a) == hash(b)
    assert not (a > b) and not (b > a)


@pytest.mark.parametrize("name", [" 17.2.1", "17.2.1\n", "17.2.1_ent "])
def test_version_dir_names_must_be_exact(name: str) -> None:
    with pytest.raises(InvalidRevision):
        Revision.parse_dir_name(name)
