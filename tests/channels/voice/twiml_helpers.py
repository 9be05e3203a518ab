"""Reading TwiML responses as XML in the voice tests."""
from __future__ import annotations

import xml.etree.ElementTree as ET


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return "".join(say.text or "" for say in root.iter("Say"))


def gather(root: ET.Element) -> ET.Element:
    found = root.find("Gather")
    assert found is not None, ET.tostring(root, encoding="unicode")
    return found


def next_url(root: ET.Element) -> str:
    """Where Twilio goes next: the Gather/Record/Enqueue/Dial action or the Redirect."""
    for tag in ("Gather", "Record", "Enqueue", "Dial"):
        node = root.find(tag)
        if node is not None:
            return node.get("action")
    redirect = root.find("Redirect")
    assert redirect is not None, ET.tostring(root, encoding="unicode")
    return redirect.text
