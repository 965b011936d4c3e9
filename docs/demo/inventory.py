"""A small file to try Switchboard on: `switchboard-ls complete docs/demo/inventory.py:21:37`."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    return sum(item.price * item.quantity for item in items)


def restock(items: list[Item], minimum: int) -> list[Item]:
    low = [item for item in items if item.quantity < minimum]
    for item in low:
        item.quantity = minimum
    value = sum(item.price * item.qu
    return low
