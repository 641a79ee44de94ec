"""The unit prices the platform's own running cost is computed with: one place, with source and date.

All prices are AWS's public on-demand list prices for us-east-1 (N. Virginia), in USD, without
free tiers, credits or taxes, as published on the pages named below and last read 2025-06
(DynamoDB on-demand after AWS's November 2024 price reduction). Prices are not re-checked at run
time (no network): change them here, with the date, when AWS changes them. Every report that
uses them prints this table (`PRICES`), so a reader can recompute any amount.

What is not priced, and why: SQS, KMS, CloudWatch, X-Ray and data transfer (a few cents a month
at this platform's volume, and not attributable per client from any record); SES attachment
data (USD 0.12 per GB: a report message is tens of kilobytes); S3 GET requests by recipients
following a report link (S3 records them only in server access logs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from lambdas.logic.queries import PRICE_PER_REQUEST_USD

PRICES_AS_OF = "2025-06"
REGION = "us-east-1"


@dataclass(frozen=True)
class UnitPrice:
    key: str
    service: str
    description: str
    usd: Decimal  # per `per` units of `unit`
    per: int
    unit: str
    source: str

    @property
    def per_unit(self) -> Decimal:
        return self.usd / self.per

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"
_DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"

PRICES: dict[str, UnitPrice] = {
    price.key: price
    for price in (
        UnitPrice("lambda_gb_second", "Lambda", "compute, x86_64", Decimal("0.0000166667"), 1, "GB-second", _LAMBDA),
        UnitPrice("lambda_request", "Lambda", "requests", Decimal("0.20"), 1_000_000, "request", _LAMBDA),
        UnitPrice(
            "ce_request",
            "Cost Explorer",
            "API requests, every page counted (lambdas/dal/cost_explorer.py)",
            Decimal(PRICE_PER_REQUEST_USD),
            1,
            "request",
            "https://aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing/",
        ),
        UnitPrice(
            "ses_email",
            "SES",
            "outbound email, each recipient counted",
            Decimal("0.10"),
            1_000,
            "email",
            "https://aws.amazon.com/ses/pricing/",
        ),
        UnitPrice("s3_standard_gb_month", "S3", "Standard storage", Decimal("0.023"), 1, "GB-month", _S3),
        UnitPrice("s3_standard_ia_gb_month", "S3", "Standard-IA storage", Decimal("0.0125"), 1, "GB-month", _S3),
        UnitPrice(
            "s3_glacier_ir_gb_month",
            "S3",
            "Glacier Instant Retrieval storage",
            Decimal("0.004"),
            1,
            "GB-month",
            _S3,
        ),
        UnitPrice("s3_put_request", "S3", "PUT, COPY, POST, LIST requests", Decimal("0.005"), 1_000, "request", _S3),
        UnitPrice(
            "dynamodb_write_unit",
            "DynamoDB",
            "on-demand write request units",
            Decimal("0.625"),
            1_000_000,
            "write request unit",
            _DYNAMODB,
        ),
        UnitPrice(
            "dynamodb_read_unit",
            "DynamoDB",
            "on-demand read request units",
            Decimal("0.125"),
            1_000_000,
            "read request unit",
            _DYNAMODB,
        ),
        UnitPrice("dynamodb_gb_month", "DynamoDB", "Standard table storage", Decimal("0.25"), 1, "GB-month", _DYNAMODB),
    )
}

# S3 storage classes as ListObjectsV2 names them -> their storage price.
S3_STORAGE_PRICE = {
    "STANDARD": "s3_standard_gb_month",
    "STANDARD_IA": "s3_standard_ia_gb_month",
    "GLACIER_IR": "s3_glacier_ir_gb_month",
}
GB = Decimal(1024**3)  # AWS bills storage and Lambda memory in binary gigabytes


def price(key: str) -> UnitPrice:
    return PRICES[key]


def pricing_document() -> dict[str, object]:
    """The prices as every cost report states them."""
    return {
        "region": REGION,
        "as_of": PRICES_AS_OF,
        "currency": "USD",
        "basis": "AWS public on-demand list prices, no free tier, credits or taxes",
        "unit_prices": [unit.as_dict() for unit in PRICES.values()],
        "not_priced": [
            "SQS, KMS, CloudWatch, X-Ray, data transfer",
            "SES attachment data (USD 0.12 per GB)",
            "S3 GET requests from report links",
        ],
    }
