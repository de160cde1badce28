from chalicelib.dal.registry import ALL_MODELS


def test_every_table_is_prefixed_and_on_demand(aws: None) -> None:
    for model in ALL_MODELS:
        assert model.Meta.table_name.startswith("aion-test-")
        description = model._get_connection().describe_table()
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_names_are_unique() -> None:
    names = [m.Meta.table_name for m in ALL_MODELS]
    assert len(names) == len(set(names))
