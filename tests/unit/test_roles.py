import pytest

from portal.domain.core.roles import GRANTS, Capability, Role, has_capability, roles_with


def test_every_capability_belongs_to_some_role():
    assert {cap for _, cap in GRANTS} == set(Capability)


def test_unknown_roles_have_no_capabilities():
    assert not has_capability("client", Capability.VIEW_CLIENTS)
    assert not has_capability(None, Capability.VIEW_CLIENTS)


@pytest.mark.requirement("R31")
def test_only_system_administrators_manage_agencies_and_only_agency_administrators_reinstate():
    assert roles_with(Capability.MANAGE_AGENCIES) == {Role.SYSTEM_ADMIN}
    assert roles_with(Capability.REINSTATE_CLIENT_ACCOUNTS) == {Role.AGENCY_ADMIN}
    assert roles_with(Capability.DEACTIVATE_CLIENT_ACCOUNTS) == {
        Role.AGENCY_ADMIN,
        Role.CASE_MANAGER,
    }
