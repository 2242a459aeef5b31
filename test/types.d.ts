// Minimal typing for the pcap-parser npm package (no published types); used by test/io-pcap-parser.test.ts.
declare module 'pcap-parser' {
  import { EventEmitter } from 'node:events';
  interface PcapGlobalHeader {
    magicNumber: number;
    majorVersion: number;
    minorVersion: number;
    gmtOffset: number;
    timestampAccuracy: number;
    snapshotLength: number;
    linkLayerType: number;
  }
  interface PcapPacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }
  interface PcapParser extends EventEmitter {
    on(event: 'globalHeader', cb: (h: PcapGlobalHeader) => void): this;
    on(event: 'packetHeader', cb: (h: PcapPacketHeader) => void): this;
    on(event: 'packetData', cb: (data: Buffer) => void): this;
    on(event: 'packet', cb: (p: { header: PcapPacketHeader; data: Buffer }) => void): this;
    on(event: 'end', cb: () => void): this;
    on(event: 'error', cb: (err: Error) => void): this;
  }
  export function parse(input: string | NodeJS.ReadableStream): PcapParser;
}
