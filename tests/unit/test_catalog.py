import pytest

from shared.catalog import CatalogError, load_catalog


def test_default_catalog_loads_with_a_version():
    catalog = load_catalog()
    assert catalog.version
    assert catalog.get("job_registration").agency == "employment"


def test_a_need_with_an_unknown_agency_stops_loading_with_its_name(tmp_path):
    path = tmp_path / "needs.toml"
    path.write_text(
        'version = "t1"\n[needs.bad_need]\nagency = "police"\ncategory = "protect"\nlabel_th = "x"\nlabel_en = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="bad_need"):
        load_catalog(path)


def test_a_need_both_referred_and_delivered_at_intake_is_refused(tmp_path):
    path = tmp_path / "needs.toml"
    path.write_text(
        'version = "t1"\n[needs.both]\nagency = "skills"\ndelivered_at_intake = true\n'
        'category = "develop"\nlabel_th = "x"\nlabel_en = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="both"):
        load_catalog(path)


def test_a_catalog_without_version_is_refused(tmp_path):
    path = tmp_path / "needs.toml"
    path.write_text('[needs.x]\ncategory = "prevent"\ndelivered_at_intake = true\nlabel_th = "x"\nlabel_en = "x"\n')
    with pytest.raises(CatalogError, match="version"):
        load_catalog(path)


def _with_override(tmp_path, override: str):
    from shared.catalog import DEFAULT_CATALOG_PATH

    path = tmp_path / "needs.toml"
    path.write_text(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8") + "\n[[province_overrides]]\n" + override)
    return path


def test_an_override_for_an_unknown_province_is_refused(tmp_path):
    path = _with_override(tmp_path, 'province = "99"\nneed = "wage_rights"\nagency = "employment"\nreason = "some reason"\n')
    with pytest.raises(CatalogError, match="(?s)province_overrides\\[0\\].*99"):
        load_catalog(path)


def test_an_override_of_a_need_served_at_intake_is_refused(tmp_path):
    path = _with_override(
        tmp_path, 'province = "64"\nneed = "drug_prevention_outreach"\nagency = "welfare"\nreason = "some reason"\n'
    )
    with pytest.raises(CatalogError, match="served at intake"):
        load_catalog(path)
