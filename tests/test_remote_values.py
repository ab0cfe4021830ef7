"""How the remote shell turns what pypsrp deserializes into plain records and exceptions."""

from __future__ import annotations

import datetime as dt

import pytest
from connector_runbooks.remote import (
    category_name,
    decode_clixml_string,
    exchange_error,
    parse_clixml_datetime,
    parse_lst,
    record_from_output,
)
from pypsrp.complex_objects import GenericComplexObject
from pypsrp.messages import ErrorRecordMessage


def _object(adapted=None, extended=None, property_sets=None, to_string=None, xml=None):
    obj = GenericComplexObject()
    obj.adapted_properties.update(adapted or {})
    obj.extended_properties.update(extended or {})
    obj.property_sets.extend(property_sets or [])
    obj.to_string = to_string
    if xml is not None:
        obj._xml = xml
    return obj


def _multi_valued(lst: str) -> GenericComplexObject:
    obj = _object(property_sets=[lst])
    obj.types = ["Deserialized.Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String]]",
                 "Deserialized.Microsoft.Exchange.Data.MultiValuedPropertyBase",
                 "Deserialized.System.Object"]
    return obj


@pytest.mark.parametrize("lst, expected", [
    ("<LST />", []),
    ("<LST><S>192.0.2.10</S></LST>", ["192.0.2.10"]),
    ("<LST><S>192.0.2.10</S><S>198.51.100.0/24</S><S>2001:db8::/32</S></LST>",
     ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]),
])
def test_multi_valued_lists_become_lists_of_strings(lst, expected):
    assert parse_lst(lst) == expected


def test_escaped_characters_in_list_elements_are_decoded():
    lst = "<LST><S>a_x000A_b</S><S>x_x005F_x0041_</S><S>&lt;tag&gt;</S><S>_xD83D__xDE00_</S></LST>"

    assert parse_lst(lst) == ["a\nb", "x_x0041_", "<tag>", "\U0001F600"]


def test_nil_list_elements_are_no_value():
    assert parse_lst("<LST><Nil /><S>EX01</S><Nil /></LST>") == ["EX01"]


def test_object_list_elements_give_their_tostring_and_refs_repeat_it():
    lst = ('<LST><Obj RefId="4"><TN RefId="2"><T>Microsoft.Exchange.Data.IPRange</T></TN>'
           '<ToString>10.0.0.0/8</ToString></Obj><Ref RefId="4" /></LST>')

    assert parse_lst(lst) == ["10.0.0.0/8", "10.0.0.0/8"]


def test_a_record_reads_adapted_properties_before_extended_ones():
    obj = _object(adapted={"Name": "Relay"},
                  extended={"Name": "ignored", "Comment": "from MS",
                            "PSComputerName": "ex01.corp.example.com", "RunspaceId": "x"})

    assert record_from_output(obj) == {"Name": "Relay", "Comment": "from MS"}


def test_a_record_has_lists_bytes_and_flag_lists_like_the_simulator():
    obj = _object(adapted={
        "RemoteIPRanges": _multi_valued("<LST><S>192.0.2.10</S></LST>"),
        "MaxMessageSize": "36 MB (37,748,736 bytes)",
        "AuthMechanism": "Tls, Integrated",
        "Enabled": True,
        "Identity": _object(to_string="EX01\\Relay"),
    })

    assert record_from_output(obj) == {
        "RemoteIPRanges": ["192.0.2.10"],
        "MaxMessageSize": 37748736,
        "AuthMechanism": ["Tls", "Integrated"],
        "Enabled": True,
        "Identity": "EX01\\Relay",
    }


def test_datetime_properties_come_back_as_datetimes():
    xml = ('<Obj RefId="0"><Props><DT N="WhenChanged">2024-04-15T11:40:00Z</DT>'
           '<S N="Name">Relay</S></Props></Obj>')
    obj = _object(adapted={"WhenChanged": "2024-04-15T11:40:00Z", "Name": "Relay"}, xml=xml)

    assert record_from_output(obj)["WhenChanged"] == dt.datetime(2024, 4, 15, 11, 40,
                                                                 tzinfo=dt.timezone.utc)


def test_dotnet_round_trip_datetimes_with_seven_digits_are_read():
    assert parse_clixml_datetime("2024-04-15T11:40:00.1234567+02:00") == dt.datetime(
        2024, 4, 15, 11, 40, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_clixml_escapes_of_control_characters_are_decoded():
    assert decode_clixml_string("line_x000D__x000A_next") == "line\r\nnext"


@pytest.mark.parametrize("number, name", [(0, "NotSpecified"), (5, "InvalidArgument"),
                                          (13, "ObjectNotFound"), (17, "ParserError"),
                                          (99, "NotSpecified")])
def test_error_categories_are_named(number, name):
    assert category_name(number) == name


def test_an_error_record_keeps_exchanges_message_reason_target_and_id():
    record = ErrorRecordMessage(
        fq_error="[Server=EX01,RequestId=1,TimeStamp=x] [FailureCategory=Cmdlet-"
                 "AdminLimitExceededException] 1A2B3C4D,Microsoft.Exchange.Management."
                 "SystemConfigurationTasks.SetReceiveConnector",
        category=0, reason="AdminLimitExceededException", target_name="EX01\\Relay",
        activity="Set-ReceiveConnector")
    record._to_string = "The administrative limit for this request was exceeded."

    error = exchange_error(record, "Set-ReceiveConnector", terminating=False)

    assert error.to_dict() == {
        "message": "The administrative limit for this request was exceeded.",
        "cmdlet": "Set-ReceiveConnector",
        "category": "NotSpecified",
        "reason": "AdminLimitExceededException",
        "target": "EX01\\Relay",
        "fully_qualified_error_id": record.fq_error,
        "terminating": False,
    }
