"""The network behind AXI4-Stream ports, for vendor block designs and LiteX."""
from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .network import Network

# Logical port (as `hwgen_top.json` names them) -> AXI4-Stream name.
AXI_STREAM_PORTS = {
    "clk": "aclk", "rst": "aresetn",
    "i.payload": "s_axis_tdata", "i.valid": "s_axis_tvalid", "i.ready": "s_axis_tready",
    "o.payload": "m_axis_tdata", "o.valid": "m_axis_tvalid", "o.ready": "m_axis_tready",
}


def byte_width(bits: int) -> int:
    """TDATA is a whole number of bytes (AXI4-Stream spec); data sits in the low bits."""
    return -(-bits // 8) * 8


class AxiStreamTop(wiring.Component):
    """``network`` with the port names of an AXI4-Stream slave (input) and master
    (output), clock ``aclk`` and active-low reset ``aresetn``; the TDATA
    widths are the network's payloads rounded up to whole bytes."""

    def __init__(self, network: Network):
        self._network = network
        super().__init__({
            "aclk": In(1), "aresetn": In(1),
            "s_axis_tdata": In(byte_width(len(network.i.payload))),
            "s_axis_tvalid": In(1), "s_axis_tready": Out(1),
            "m_axis_tdata": Out(byte_width(len(network.o.payload))),
            "m_axis_tvalid": Out(1), "m_axis_tready": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.submodules.network = net = self._network
        m.d.comb += [
            sync.clk.eq(self.aclk),
            sync.rst.eq(~self.aresetn),
            net.i.payload.eq(self.s_axis_tdata),
            net.i.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(net.i.ready),
            self.m_axis_tdata.eq(net.o.payload),
            self.m_axis_tvalid.eq(net.o.valid),
            net.o.ready.eq(self.m_axis_tready),
        ]
        return m
